import { FaultFileSystem, seededRandom } from '@x/wal/testing';
import { describe, expect, it } from 'vitest';
import { LeaderFollowerNode } from './leader-follower-node.js';
import type { LogEntry } from './log-entry.js';
import { decodeMessage, encodeMessage } from './message-codec.js';
import type { Message } from './messages.js';
import type { NodeObserver } from './node-ports.js';
import { HeldFileSystem } from './test-support/held-file-system.js';
import { ManualTime } from './test-support/manual-time.js';
import { settle } from './test-support/node-event-loop.js';

const entry = (index: number): LogEntry => ({
  index,
  generation: 1,
  kind: 'command',
  command: Uint8Array.of(index),
});

/** What the follower did, in the order it did it. */
interface Trace {
  readonly applied: number[];
  /** The index each successful append-response acknowledged, in sending order. */
  readonly acknowledged: number[];
}

/**
 * Follower `b` of a hand-driven leader `a`, over a disk whose completions the test holds: three
 * Readies (entries; entries with commits; commits alone) are all in flight at once, then the disk
 * reports its completions last issued first. Whatever order the file operations finish in, the
 * node must act on each Ready's durability in Ready order: acknowledge in log order and apply
 * every entry once, in log order (the bug of the reverted job-queue fast path: a Ready without
 * entries, which takes one promise hop less, overtook one with entries and applied 3..4 before
 * 1..2).
 */
async function runFollower(observer: NodeObserver): Promise<Trace> {
  const time = new ManualTime();
  const disk = new HeldFileSystem(new FaultFileSystem({ random: seededRandom(5) }));
  const trace: Trace = { applied: [], acknowledged: [] };
  let deliver: ((from: string, type: number, payload: Uint8Array) => void) | undefined;
  const node = await LeaderFollowerNode.open({
    id: 'b',
    members: ['a', 'b', 'c'],
    transport: {
      send: (_to, type, payload) => {
        const message = decodeMessage(type, payload);
        if (message?.kind === 'append-response' && !message.rejected) {
          trace.acknowledged.push(message.index);
        }
      },
      onMessage: (handler) => (deliver = handler),
    },
    stateMachine: {
      apply: (index) => void trace.applied.push(index),
      snapshot: () => new Uint8Array(),
      restore: () => undefined,
    },
    fileSystem: disk,
    dataDirectory: '/data',
    clock: time,
    timers: time,
    random: { next: () => 0.5 },
    observer,
  });
  node.start();
  const send = (message: Message): void => {
    const { type, payload } = encodeMessage(message);
    deliver?.('a', type, payload);
  };
  disk.hold();
  // Ready 1: entries 1..2 to persist (and the new generation).
  send({
    kind: 'append',
    generation: 1,
    prevIndex: 0,
    prevGeneration: 0,
    entries: [entry(1), entry(2)],
    highWaterMark: 0,
  });
  await settle();
  // Ready 2: entries 3..4 to persist, 1..2 committed (applied once durable here).
  send({
    kind: 'append',
    generation: 1,
    prevIndex: 2,
    prevGeneration: 1,
    entries: [entry(3), entry(4)],
    highWaterMark: 2,
  });
  await settle();
  // Ready 3: nothing to persist, 3..4 committed.
  send({ kind: 'heartbeat', generation: 1, highWaterMark: 4, readRound: 0 });
  await settle();
  expect(disk.heldCount).toBeGreaterThan(0); // the Readies are still in flight
  expect(trace.applied).toEqual([]);
  await disk.completeLastFirst();
  await settle();
  expect(node.failure).toBeUndefined();
  expect(node.highWaterMark).toBe(4);
  await node.close();
  return trace;
}

describe('a node whose disk reports completions out of order', () => {
  it('acknowledges and applies in log order', async () => {
    const trace = await runFollower({});
    expect(trace.applied).toEqual([1, 2, 3, 4]);
    expect(trace.acknowledged).toEqual([2, 4]);
  });

  it('acknowledges and applies in log order when an observer times the log syncs', async () => {
    const synced: number[] = [];
    const trace = await runFollower({ logSynced: (entryCount) => synced.push(entryCount) });
    expect(trace.applied).toEqual([1, 2, 3, 4]);
    expect(trace.acknowledged).toEqual([2, 4]);
    expect(synced).toEqual([2, 2]);
  });
});
