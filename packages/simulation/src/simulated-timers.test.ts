import { describe, expect, it } from 'vitest';
import { ProcessGate } from './process-gate.js';
import { SimulatedClock } from './simulated-clock.js';
import { SimulatedTimers } from './simulated-timers.js';
import { Simulation } from './simulation.js';

function setup(driftPpm = 0) {
  const simulation = new Simulation({ seed: 1 });
  const clock = new SimulatedClock(simulation, { offsetMs: 5_000, driftPpm });
  const gate = new ProcessGate(simulation, 'athens');
  gate.markRunning();
  const timers = new SimulatedTimers(simulation, clock, gate);
  return { simulation, clock, gate, timers };
}

describe('SimulatedClock', () => {
  it('reads offset plus elapsed virtual time scaled by the drift', async () => {
    const { simulation, clock } = setup(1_000); // gains 1 ms per second
    expect(clock.now()).toBe(5_000);
    await simulation.runFor(10_000);
    expect(clock.now()).toBeCloseTo(15_010, 6);
    clock.setDrift(0);
    await simulation.runFor(1_000);
    expect(clock.now()).toBeCloseTo(16_010, 6);
  });

  it('jumps forward only', () => {
    const { clock } = setup();
    clock.jump(250);
    expect(clock.now()).toBe(5_250);
    expect(() => clock.jump(-1)).toThrow(RangeError);
    expect(() => clock.setDrift(-1e6)).toThrow(RangeError);
  });
});

describe('SimulatedTimers', () => {
  it('fires after the delay measured on the drifting local clock', async () => {
    const { simulation, clock, timers } = setup(100_000); // 10% fast
    let firedAt = -1;
    timers.setTimeout(() => (firedAt = clock.now()), 110);
    await simulation.runFor(99);
    expect(firedAt).toBe(-1);
    await simulation.runFor(2);
    expect(firedAt).toBeCloseTo(5_110, 6);
    expect(simulation.now).toBe(101);
  });

  it('clears timers and ignores unknown handles; coerces bad delays to 1 ms like Node', async () => {
    const { simulation, timers } = setup();
    const fired: string[] = [];
    const handle = timers.setTimeout(() => fired.push('cleared'), 10);
    timers.setTimeout(() => fired.push('zero'), 0);
    timers.setTimeout(() => fired.push('nan'), Number.NaN);
    timers.clearTimeout(handle);
    timers.clearTimeout({});
    timers.clearTimeout(undefined);
    await simulation.runFor(1);
    expect(fired).toEqual(['zero', 'nan']);
    await simulation.runFor(20);
    expect(fired).toEqual(['zero', 'nan']);
    expect(timers.pendingCount).toBe(0);
  });

  it('fires timers that a clock jump made due at once, and keeps the rest on time', async () => {
    const { simulation, clock, timers } = setup();
    const fired: string[] = [];
    timers.setTimeout(() => fired.push('short'), 1_000);
    timers.setTimeout(() => fired.push('long'), 5_000);
    await simulation.runFor(10);
    clock.jump(2_000);
    await simulation.runFor(0);
    expect(fired).toEqual(['short']);
    await simulation.runFor(2_989);
    expect(fired).toEqual(['short']);
    await simulation.runFor(2);
    expect(fired).toEqual(['short', 'long']);
  });

  it('holds timers while paused and fires them as a burst on resume; drops them after a crash', async () => {
    const { simulation, gate, timers } = setup();
    const fired: number[] = [];
    timers.setTimeout(() => fired.push(simulation.now), 10);
    timers.setTimeout(() => fired.push(simulation.now), 20);
    gate.pause();
    await simulation.runFor(100);
    expect(fired).toEqual([]);
    gate.resume();
    await simulation.runFor(0);
    expect(fired).toEqual([100, 100]);
    timers.setTimeout(() => fired.push(-1), 10);
    gate.crash();
    await simulation.runFor(100);
    expect(fired).toEqual([100, 100]);
  });
});
