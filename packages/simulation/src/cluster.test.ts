import { afterEach, describe, expect, it } from 'vitest';
import { Cluster, LinearizabilityViolation } from './cluster.js';
import { seedFromEnvironment, simulationSeeds } from './seeds.js';
import { SimulationRunError, simulate } from './simulate.js';
import { NodeUnavailableError } from './simulated-client.js';
import type { NodePorts } from './simulated-node.js';
import { runWorkload } from './workload.js';
import { injectRandomFaults } from './random-faults.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A node that appends lines to a file, optionally fsyncing, and remembers what it received. */
class Scribe {
  readonly received: string[] = [];
  ticks = 0;
  private constructor(readonly ports: NodePorts) {}

  static async open(ports: NodePorts): Promise<Scribe> {
    const scribe = new Scribe(ports);
    await ports.fs.mkdir('/data');
    ports.transport.onMessage((from, _type, payload) =>
      scribe.received.push(`${from}:${decoder.decode(payload)}`),
    );
    const tick = (): void => {
      scribe.ticks++;
      ports.timers.setTimeout(tick, 10);
    };
    ports.timers.setTimeout(tick, 10);
    return scribe;
  }

  async append(text: string, durable: boolean): Promise<void> {
    const file = await this.ports.fs.open('/data/log', 'create');
    const size = await file.size();
    const bytes = encoder.encode(text);
    await file.write(bytes, 0, bytes.length, size);
    if (durable) await file.datasync();
    await file.close();
    if (durable) await this.ports.fs.syncDirectory('/data');
  }

  async contents(): Promise<string> {
    if (!(await this.ports.fs.exists('/data/log'))) return '';
    const file = await this.ports.fs.open('/data/log', 'read');
    const bytes = new Uint8Array(await file.size());
    await file.read(bytes, 0, bytes.length, 0);
    await file.close();
    return decoder.decode(bytes);
  }
}

async function scribes(nodes = 3): Promise<Cluster<Scribe>> {
  const cluster = new Cluster<Scribe>({ seed: 'scribes', nodes, createNode: Scribe.open });
  await cluster.start();
  return cluster;
}

async function settle<T>(cluster: Cluster<Scribe>, promise: Promise<T>): Promise<T> {
  let result: { value: T } | undefined;
  void promise.then((value) => (result = { value }));
  await cluster.runUntil(() => result !== undefined, 10_000);
  return (result as { value: T }).value;
}

describe('Cluster', () => {
  it('starts named nodes, each with its own ports', async () => {
    const cluster = await scribes(5);
    expect(cluster.names).toEqual(['athens', 'byzantium', 'cyrene', 'delphi', 'ephesus']);
    expect(cluster.liveNodes).toHaveLength(5);
    const athens = cluster.node('athens').requireInstance;
    expect(athens.ports.peers).toEqual(['byzantium', 'cyrene', 'delphi', 'ephesus']);
    expect(athens.ports.clock.now()).not.toBe(cluster.node('byzantium').clock.now());
    athens.ports.transport.send('cyrene', 1, encoder.encode('hello'));
    await cluster.runFor(100);
    expect(cluster.node('cyrene').requireInstance.received).toEqual(['athens:hello']);
    expect(() => cluster.node('sparta')).toThrow(RangeError);
  });

  it('a power loss keeps only what was fsynced; a process crash keeps what was written', async () => {
    const cluster = await scribes();
    const athens = cluster.node('athens');
    await settle(cluster, athens.requireInstance.append('durable;', true));
    await settle(cluster, athens.requireInstance.append('lost', false));
    athens.crash();
    expect(athens.state).toBe('crashed');
    expect(athens.instance).toBeUndefined();
    athens.restart();
    await cluster.runUntil(() => athens.state === 'running');
    expect(athens.incarnation).toBe(1);
    const afterPowerLoss = await settle(cluster, athens.requireInstance.contents());
    expect(afterPowerLoss.startsWith('durable;')).toBe(true);

    await settle(cluster, athens.requireInstance.append('kept', false));
    const before = await settle(cluster, athens.requireInstance.contents());
    athens.crash({ powerLoss: false });
    athens.restart();
    await cluster.runUntil(() => athens.state === 'running');
    expect(await settle(cluster, athens.requireInstance.contents())).toBe(before);
  });

  it('silences a crashed incarnation: no timers, sends or disk writes from leftover code', async () => {
    const cluster = await scribes();
    const athens = cluster.node('athens');
    const zombie = athens.requireInstance;
    athens.crash({ powerLoss: false });
    const ticks = zombie.ticks;
    let settled = false;
    void zombie.append('zombie', true).finally(() => (settled = true));
    zombie.ports.transport.send('byzantium', 1, encoder.encode('from the grave'));
    await cluster.runFor(1_000);
    expect(zombie.ticks).toBe(ticks);
    expect(settled).toBe(false);
    expect(cluster.node('byzantium').requireInstance.received).toEqual([]);
    expect(athens.disk.listFiles()).not.toContain('/data/log');
    expect(athens.pendingTimers).toBe(0);
  });

  it('releases directory locks when a process dies', async () => {
    const cluster = await scribes();
    const athens = cluster.node('athens');
    await settle(cluster, athens.requireInstance.ports.fs.lockDirectory('/data'));
    athens.crash({ powerLoss: false });
    athens.restart();
    await cluster.runUntil(() => athens.state === 'running');
    const lock = await settle(cluster, athens.requireInstance.ports.fs.lockDirectory('/data'));
    expect(typeof lock.release).toBe('function');
  });

  it('pauses a node: its timers and requests wait, then run as a burst', async () => {
    const cluster = await scribes();
    const athens = cluster.node('athens');
    const instance = athens.requireInstance;
    athens.pause();
    const ticks = instance.ticks;
    const answer = cluster.client(0).call(athens, (scribe) => scribe.ticks);
    let answered: number | undefined;
    void answer.then((value) => (answered = value));
    await cluster.runFor(500);
    expect(instance.ticks).toBe(ticks);
    expect(answered).toBeUndefined();
    athens.resume();
    await cluster.runFor(5);
    expect(answered).toBeDefined();
  });

  it('keeps a node paused while starting in the starting state until its factory finishes', async () => {
    const cluster = new Cluster<Scribe>({ seed: 'slow start', createNode: Scribe.open });
    const starting = cluster.start();
    const athens = cluster.node('athens');
    athens.pause();
    await starting.catch(() => undefined);
    expect(athens.state).toBe('paused');
    expect(athens.instance).toBeUndefined();
    athens.resume();
    expect(athens.state).toBe('starting');
    await cluster.runUntil(() => athens.state === 'running');
    expect(athens.instance).toBeDefined();
  });

  it('treats halt as a crash and reports it', async () => {
    const cluster = await scribes();
    const crashes: string[] = [];
    cluster.onNodeCrash((node, reason) => crashes.push(`${node.name}: ${reason}`));
    cluster.node('cyrene').requireInstance.ports.halt(new Error('fsync failed'));
    expect(cluster.node('cyrene').state).toBe('crashed');
    expect(crashes).toEqual(['cyrene: halt: fsync failed']);
  });

  it('records client outcomes: refused is fail, no answer is info', async () => {
    const cluster = await scribes();
    cluster.node('athens').crash();
    const client = cluster.client(0);
    const refused = client.invoke({ op: 'write', key: 'x', value: 1 }, async (context) => {
      try {
        await context.call('athens', () => 1);
        return { type: 'ok' };
      } catch (error) {
        expect(error).toBeInstanceOf(NodeUnavailableError);
        return { type: 'fail', error };
      }
    });
    await cluster.runFor(100);
    expect((await refused).type).toBe('fail');
    const silent = client.invoke(
      { op: 'read', key: 'x' },
      async (context) => ({
        type: 'ok',
        value: await context.call('byzantium', () => new Promise<number>(() => undefined)),
      }),
      500,
    );
    await cluster.runFor(600);
    expect((await silent).type).toBe('info');
    expect(cluster.history.events.map((event) => event.type)).toEqual([
      'invoke',
      'fail',
      'invoke',
      'info',
    ]);
  });

  it('applies scripted faults at their times and counts them', async () => {
    const cluster = await scribes();
    const start = cluster.now;
    cluster.schedule([
      { atMs: start + 100, fault: { kind: 'crash', node: 'athens' } },
      { atMs: start + 200, fault: { kind: 'restart', node: 'athens' } },
      { atMs: start + 300, fault: { kind: 'isolate', node: 'cyrene' } },
      { atMs: start + 400, fault: { kind: 'clock-jump', node: 'byzantium', ms: 1_000 } },
    ]);
    await cluster.runFor(150);
    expect(cluster.node('athens').state).toBe('crashed');
    await cluster.runFor(100);
    expect(cluster.node('athens').state).toBe('running');
    await cluster.runFor(100);
    expect(cluster.network.canReach('athens', 'cyrene')).toBe(false);
    await cluster.runFor(200);
    expect(cluster.sometimes.count('fault:clock-jump')).toBe(1);
    cluster.recover();
    expect(cluster.network.canReach('athens', 'cyrene')).toBe(true);
  });

  it('fails the run when a node cannot start, or crashes it when told to', async () => {
    const failing = simulate(
      { seed: 9, createNode: () => Promise.reject(new Error('corrupt log')) },
      (cluster) => cluster.start(),
    );
    await expect(failing).rejects.toThrow(/athens failed to start.*corrupt log/);
    const cluster = new Cluster({
      seed: 9,
      onStartFailure: 'crash',
      createNode: () => Promise.reject(new Error('corrupt log')),
    });
    await cluster.start();
    expect(cluster.nodes.map((node) => node.state)).toEqual(['crashed', 'crashed', 'crashed']);
  });
});

describe('disks and clocks', () => {
  it('completes disk operations in virtual time, in order, and holds them while paused', async () => {
    const cluster = new Cluster<Scribe>({
      seed: 'disk',
      createNode: Scribe.open,
      diskLatency: (operation) => (operation === 'datasync' ? 10 : 1),
    });
    await cluster.start();
    const athens = cluster.node('athens');
    const started = cluster.now;
    let finishedAt = -1;
    void athens.requireInstance.append('x', true).then(() => (finishedAt = cluster.now));
    // open, size, write, datasync, close, syncDirectory: 1 + 1 + 1 + 10 + 1 + 1 ms.
    athens.pause();
    await cluster.runFor(100);
    expect(finishedAt).toBe(-1);
    athens.resume();
    await cluster.runFor(100);
    expect(finishedAt).toBeGreaterThanOrEqual(started + 100 + 14);
    expect(finishedAt).toBeLessThan(started + 100 + 15);
    expect(athens.disk.stats.datasyncs).toBe(1);
  });

  it('jumps clocks: monotonic forward only (firing due timers), wall clock both ways', async () => {
    const cluster = await scribes();
    const athens = cluster.node('athens');
    const ticks = athens.requireInstance.ticks;
    const wall = athens.wallClock.now();
    cluster.apply({ kind: 'clock-jump', node: 'athens', ms: 1_000 });
    await cluster.runFor(0);
    expect(athens.requireInstance.ticks).toBe(ticks + 1);
    expect(() => athens.jumpClock(-1)).toThrow(RangeError);
    athens.jumpWallClock(-60_000);
    expect(athens.wallClock.now()).toBe(wall - 60_000);
    expect(athens.requireInstance.ports.wallClock).toBe(athens.wallClock);
  });

  it('fails a disk operation on demand, and the node can halt on it', async () => {
    const cluster = await scribes();
    const athens = cluster.node('athens');
    cluster.apply({ kind: 'disk-error', node: 'athens', operation: 'datasync' });
    const failure = athens.requireInstance.append('x', true).catch((error: unknown) => error);
    let outcome: unknown;
    void failure.then((error) => (outcome = error));
    await cluster.runFor(100);
    expect(outcome).toMatchObject({ code: 'EIO' });
  });
});

describe('determinism checks', () => {
  it('exposes a system that uses Math.random: the trace hash differs between two runs of one seed', async () => {
    const leaky = async (): Promise<string> => {
      const report = await simulate(
        {
          seed: 1,
          createNode: (ports) => {
            const tick = (): void => {
              ports.transport.send(ports.peers[0]!, 1, new Uint8Array([1]));
              ports.timers.setTimeout(tick, 1 + Math.random() * 10);
            };
            tick();
            ports.transport.onMessage(() => undefined);
            return {};
          },
        },
        (cluster) => cluster.start().then(() => cluster.runFor(1_000)),
      );
      return report.traceHash;
    };
    expect(await leaky()).not.toBe(await leaky());
  });
});

describe('injectRandomFaults', () => {
  it('keeps at most maxDown nodes down, recovers at the end, and repeats for a seed', async () => {
    const run = async (seed: number): Promise<string[]> => {
      const faults: string[] = [];
      await simulate({ seed, nodes: 5, createNode: Scribe.open }, async (cluster) => {
        cluster.invariant(
          'at most two nodes down',
          (c) =>
            c.nodes.filter((node) => node.state === 'crashed' || node.state === 'paused').length <=
            2,
        );
        cluster.onNodeCrash((node) => faults.push(`${cluster.now} ${node.name}`));
        await cluster.start();
        injectRandomFaults(cluster, { untilMs: 5_000, meanIntervalMs: 50 });
        await cluster.runFor(5_000);
        expect(cluster.nodes.every((node) => node.state !== 'paused')).toBe(true);
        expect(cluster.network.canReach('athens', 'byzantium')).toBe(true);
        await cluster.runFor(3_000);
        expect(cluster.runningNodes).toHaveLength(5);
        expect(cluster.sometimes.count('fault:crash')).toBeGreaterThan(0);
      });
      return faults;
    };
    const first = await run(3);
    expect(first.length).toBeGreaterThan(0);
    expect(await run(3)).toEqual(first);
  });
});

describe('simulate', () => {
  it('reports an invariant violation with the seed and how to replay it', async () => {
    const run = simulate({ seed: 4242, createNode: Scribe.open }, async (cluster) => {
      cluster.invariant(
        'never more than 5 ticks on athens',
        (c) => (c.node('athens').instance?.ticks ?? 0) <= 5,
      );
      await cluster.start();
      await cluster.runFor(1_000);
    });
    await expect(run).rejects.toBeInstanceOf(SimulationRunError);
    await expect(run).rejects.toThrow(
      /seed 4242 .*invariant "never more than 5 ticks on athens"[\s\S]*SIM_SEED=4242/,
    );
  });

  it('reports the trace hash, equal for equal seeds', async () => {
    const scenario = async (cluster: Cluster<Scribe>): Promise<void> => {
      await cluster.start();
      await cluster.runFor(500);
    };
    const first = await simulate({ seed: 5, createNode: Scribe.open }, scenario);
    const second = await simulate({ seed: 5, createNode: Scribe.open }, scenario);
    expect(second.traceHash).toBe(first.traceHash);
    expect(first.events).toBeGreaterThan(100);
    expect(first.virtualMs).toBeGreaterThanOrEqual(500);
  });

  it('checks histories: a correct register passes and a stale one is caught', async () => {
    const register =
      (stale: boolean) =>
      async (cluster: Cluster<{ value: number | null; old: number | null }>) => {
        await cluster.start();
        await runWorkload(cluster, {
          clients: 3,
          durationMs: 500,
          execute: async (operation, context) => {
            const value = await context.call('athens', (state) => {
              if (operation.op === 'read') return stale ? state.old : state.value;
              state.old = state.value;
              state.value = operation.value as number;
              return null;
            });
            return { type: 'ok', value };
          },
          generate: (random, clientId) =>
            random.chance(0.5)
              ? { op: 'read', key: 'x' }
              : { op: 'write', key: 'x', value: clientId * 1_000 + random.integer(0, 999) },
        });
        cluster.assertLinearizable();
      };
    const createNode = (): { value: number | null; old: number | null } => ({
      value: null,
      old: null,
    });
    await simulate({ seed: 1, nodes: 1, createNode }, register(false));
    const stale = simulate({ seed: 1, nodes: 1, createNode }, register(true));
    await expect(stale).rejects.toThrow(/not linearizable/);
    await stale.catch((error: unknown) => {
      expect((error as SimulationRunError).cause).toBeInstanceOf(LinearizabilityViolation);
    });
  });
});

describe('seeds', () => {
  const saved = process.env['SIM_SEED'];
  afterEach(() => {
    if (saved === undefined) delete process.env['SIM_SEED'];
    else process.env['SIM_SEED'] = saved;
  });

  it('runs a range of seeds, or only SIM_SEED when set', () => {
    delete process.env['SIM_SEED'];
    expect(simulationSeeds(3, 10)).toEqual([10, 11, 12]);
    process.env['SIM_SEED'] = '77';
    expect(simulationSeeds(3)).toEqual([77]);
    process.env['SIM_SEED'] = 'warm-up';
    expect(seedFromEnvironment()).toBe('warm-up');
  });
});
