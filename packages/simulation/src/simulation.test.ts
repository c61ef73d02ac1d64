import { describe, expect, it } from 'vitest';
import { Simulation, SimulationFailedError, SimulationTimeoutError } from './simulation.js';

describe('Simulation', () => {
  it('runs events in time order and advances virtual time to the end of the window', async () => {
    const simulation = new Simulation({ seed: 1 });
    const seen: string[] = [];
    simulation.schedule(20, 'b', () => seen.push(`b@${simulation.now}`));
    simulation.schedule(10, 'a', () => seen.push(`a@${simulation.now}`));
    simulation.schedule(10, 'a2', () => seen.push(`a2@${simulation.now}`));
    simulation.schedule(200, 'late', () => seen.push('late'));
    await simulation.runFor(100);
    expect(seen).toEqual(['a@10', 'a2@10', 'b@20']);
    expect(simulation.now).toBe(100);
    expect(simulation.pendingEvents).toBe(1);
  });

  it('lets the promise chain an event started finish at the same virtual instant', async () => {
    const simulation = new Simulation({ seed: 1 });
    let finishedAt = -1;
    simulation.schedule(5, 'start', () => {
      void (async () => {
        for (let i = 0; i < 10; i++) await Promise.resolve();
        // A port call inside the chain: the drain keeps waiting after activity.
        await new Promise<void>((resolve) => simulation.schedule(0, 'inner', resolve));
        for (let i = 0; i < 10; i++) await Promise.resolve();
        finishedAt = simulation.now;
      })();
    });
    await simulation.runFor(5);
    expect(finishedAt).toBe(5);
  });

  it('runUntil stops when the condition holds and throws when the deadline passes first', async () => {
    const simulation = new Simulation({ seed: 1 });
    let ticks = 0;
    const tick = (): void => {
      ticks++;
      simulation.schedule(10, 'tick', tick);
    };
    simulation.schedule(10, 'tick', tick);
    await simulation.runUntil(() => ticks === 3);
    expect(simulation.now).toBe(30);
    await expect(simulation.runUntil(() => false, 100)).rejects.toBeInstanceOf(
      SimulationTimeoutError,
    );
    expect(simulation.now).toBe(130);
  });

  it('fails the run when an event throws, naming the seed', async () => {
    const simulation = new Simulation({ seed: 'boom-seed' });
    simulation.schedule(1, 'boom', () => {
      throw new Error('boom');
    });
    const failure = simulation.runFor(10);
    await expect(failure).rejects.toBeInstanceOf(SimulationFailedError);
    await expect(failure).rejects.toThrow(/boom-seed.*boom/);
    await expect(simulation.runFor(10)).rejects.toBeInstanceOf(SimulationFailedError);
  });

  it('refuses to be re-entered', async () => {
    const simulation = new Simulation({ seed: 1 });
    let inner: Promise<void> | undefined;
    simulation.schedule(1, 'reenter', () => {
      inner = simulation.runFor(1);
    });
    await simulation.runFor(5);
    await expect(inner).rejects.toThrow(/already running/);
  });

  it('runs hooks after every step and fails when one throws', async () => {
    const simulation = new Simulation({ seed: 1 });
    let steps = 0;
    simulation.afterEachStep(() => {
      steps++;
      if (simulation.now >= 3) throw new Error('invariant');
    });
    for (let time = 1; time <= 5; time++) simulation.schedule(time, 'step', () => undefined);
    await expect(simulation.runFor(10)).rejects.toThrow(/invariant/);
    expect(steps).toBe(3);
  });

  it('gives equal trace hashes for equal runs and different ones otherwise', async () => {
    const run = async (seed: number): Promise<string> => {
      const simulation = new Simulation({ seed });
      const random = simulation.random.stream('test');
      for (let i = 0; i < 50; i++)
        simulation.schedule(random.between(0, 100), `e${i}`, () => undefined);
      await simulation.runUntilIdle();
      return simulation.traceHash;
    };
    expect(await run(1)).toBe(await run(1));
    expect(await run(1)).not.toBe(await run(2));
  });

  it('catches a zero-delay loop with maxEvents', async () => {
    const simulation = new Simulation({ seed: 1, maxEvents: 1_000 });
    const loop = (): void => {
      simulation.schedule(0, 'loop', loop);
    };
    simulation.schedule(0, 'loop', loop);
    await expect(simulation.runFor(1)).rejects.toThrow(/more than 1000 events/);
  });
});
