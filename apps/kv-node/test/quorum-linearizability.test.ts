/**
 * Linearizability of quorum mode, checked by `@x/linearizability` (register model, read and
 * write) over histories of an in-process cluster on real loopback connections: `linearizable`
 * (ABD) passes while members are partitioned and healed under concurrent clients and under clock
 * skew; `quorum` is caught under clock skew (last writer wins by timestamp) and `one` with a stale
 * read, which proves the checker bites.
 */

import { HistoryRecorder, checkHistory, nodeClock, registerModel } from '@x/linearizability';
import { QuorumFailedError } from '@x/quorum';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConsistencyLevel } from '../src/quorum/consistency-level.js';
import {
  QuorumOutcomeUnknownError,
  QuorumUnavailableError,
} from '../src/quorum/quorum-coordinator.js';
import { SuspectedMemberError } from '../src/quorum/replica-client.js';
import { InProcessQuorumCluster } from './support/quorum-cluster.js';

const names = ['athens', 'byzantium', 'cyrene'];
let cluster: InProcessQuorumCluster | undefined;

afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

/** A small seeded generator (mulberry32), so a failing schedule can be replayed. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function startedCluster(
  options: Partial<Parameters<typeof InProcessQuorumCluster.start>[0]> = {},
): Promise<InProcessQuorumCluster> {
  const c = await InProcessQuorumCluster.start({ names, ...options });
  cluster = c;
  for (const name of names) {
    await c.untilPeers(
      name,
      names.filter((peer) => peer !== name),
      false,
    );
  }
  return c;
}

/** Whether an error says the operation definitely did not take effect. */
function isDefiniteFailure(error: unknown): boolean {
  return (
    error instanceof QuorumUnavailableError ||
    // A read, or a linearizable write's first phase (a read), changed nothing.
    (error instanceof QuorumFailedError && error.operation !== 'write') ||
    error instanceof SuspectedMemberError
  );
}

async function runClients(
  c: InProcessQuorumCluster,
  recorder: HistoryRecorder,
  level: ConsistencyLevel,
  seed: number,
): Promise<void> {
  const random = seeded(seed);
  let nextValue = 1;
  let running = true;
  // Partitions: every few operations one member is cut off, or every link healed.
  const faults = (async () => {
    while (running) {
      const choice = Math.floor(random() * (names.length + 1));
      c.proxy.healAll();
      if (choice < names.length) c.proxy.isolate(names[choice] as string);
      await new Promise((resolve) => setTimeout(resolve, 30 + random() * 120));
    }
    c.proxy.healAll();
  })();
  const client = async (process: number): Promise<void> => {
    for (let step = 0; step < 30; step++) {
      const coordinator = c.member(
        names[Math.floor(random() * names.length)] as string,
      ).coordinator;
      const key = random() < 0.5 ? 'x' : 'y';
      if (random() < 0.5) {
        const value = nextValue++;
        const operation = recorder.invoke(process, { op: 'write', key, value });
        try {
          await coordinator.write(key, String(value), level);
          operation.ok();
        } catch (error) {
          if (isDefiniteFailure(error)) operation.fail();
          else if (error instanceof QuorumOutcomeUnknownError) operation.info();
          else throw error;
        }
      } else {
        const operation = recorder.invoke(process, { op: 'read', key });
        try {
          const stored = await coordinator.read(key, level);
          operation.ok(stored === undefined || stored.value === null ? null : Number(stored.value));
        } catch (error) {
          if (isDefiniteFailure(error) || error instanceof QuorumOutcomeUnknownError)
            operation.fail();
          else throw error;
        }
      }
      await new Promise((resolve) => setTimeout(resolve, random() * 20));
    }
  };
  await Promise.all([0, 1, 2, 3].map(client));
  running = false;
  await faults;
}

describe('quorum mode histories, checked for linearizability', { timeout: 120_000 }, () => {
  it.each([1, 2, 3])('linearizable (ABD) passes under partitions, seed %i', async (seed) => {
    const c = await startedCluster();
    const recorder = new HistoryRecorder({ clock: nodeClock });
    await runClients(c, recorder, 'linearizable', seed);
    // The run proves something only if reads and writes completed between the faults.
    const completed = (op: string) =>
      recorder.events.filter((event) => event.type === 'ok' && event.op === op).length;
    expect(completed('read')).toBeGreaterThan(0);
    expect(completed('write')).toBeGreaterThan(0);
    const result = checkHistory(recorder.events, { model: registerModel() });
    expect(result.outcome, result.outcome === 'not-linearizable' ? result.timeline : '').toBe(
      'linearizable',
    );
  });

  it.each([
    ['quorum', 'not-linearizable'],
    ['linearizable', 'linearizable'],
  ] as const)(
    '%s under clock skew: a later write from a member whose clock is behind is %s',
    async (level, outcome) => {
      // Byzantium's clock runs 30 s ahead, within a --max-clock-offset of 60 s.
      const c = await startedCluster({
        clockSkewMs: { byzantium: 30_000 },
        maxClockOffsetMs: 60_000,
      });
      const recorder = new HistoryRecorder({ clock: nodeClock });
      // Cyrene does not hear of the first write, so its clock has not witnessed its timestamp.
      c.proxy.isolate('cyrene');
      await c.untilPeers('byzantium', ['cyrene'], true);
      await recorder.record('alice', { op: 'write', key: 'x', value: 1 }, async () => {
        await c.member('byzantium').coordinator.write('x', '1', level);
      });
      c.proxy.healAll();
      await c.untilPeers('cyrene', ['athens', 'byzantium'], false);
      await c.untilPeers('athens', ['cyrene'], false);
      // Started after the first write completed, so it must be ordered after it.
      await recorder.record('bob', { op: 'write', key: 'x', value: 2 }, async () => {
        await c.member('cyrene').coordinator.write('x', '2', level);
      });
      const read = recorder.invoke('carol', { op: 'read', key: 'x' });
      const stored = await c.member('athens').coordinator.read('x', level);
      read.ok(stored === undefined || stored.value === null ? null : Number(stored.value));
      // quorum: last writer wins by timestamp, and byzantium's is 30 s ahead, so 1 beats 2.
      expect(checkHistory(recorder.events, { model: registerModel() }).outcome).toBe(outcome);
    },
  );

  it('one is caught with a stale read: a member that missed a write answers from its own copy', async () => {
    const c = await startedCluster();
    const recorder = new HistoryRecorder({ clock: nodeClock });
    c.proxy.isolate('byzantium');
    await c.untilPeers('athens', ['byzantium'], true);
    await recorder.record('alice', { op: 'write', key: 'x', value: 1 }, async () => {
      await c.member('athens').coordinator.write('x', '1', 'one');
    });
    c.proxy.healAll();
    const read = recorder.invoke('bob', { op: 'read', key: 'x' });
    const stored = await c.member('byzantium').coordinator.read('x', 'one');
    read.ok(stored === undefined ? null : Number(stored.value));
    const result = checkHistory(recorder.events, { model: registerModel() });
    expect(result.outcome).toBe('not-linearizable');
  });
});
