import { FaultFileSystem, seededRandom } from '@x/wal/testing';
import { describe, expect, it } from 'vitest';
import {
  LeaderFollowerNode,
  type LeaderFollowerNodeOptions,
  type StateMachine,
} from './leader-follower-node.js';
import { SnapshotCorruptionError } from './snapshot-file.js';
import { ManualTime } from './test-support/manual-time.js';
import { settle } from './test-support/node-event-loop.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * A list of strings that snapshots as one chunk per item, produced only as the node iterates,
 * and restores from chunks only once the iteration has ended.
 */
class StreamingList implements StateMachine {
  items: string[] = [];
  /** Chunks handed out so far, and restores seen. */
  readonly counts = { chunksProduced: 0, restoredInChunks: 0, restoredWhole: 0 };

  apply(_index: number, command: Uint8Array): number {
    this.items.push(decoder.decode(command));
    return this.items.length;
  }

  snapshot(): Iterable<Uint8Array> {
    const captured = [...this.items];
    const counts = this.counts;
    return (function* () {
      for (const item of captured) {
        counts.chunksProduced++;
        yield encoder.encode(`${item}\n`);
      }
    })();
  }

  restore(snapshot: Uint8Array): void {
    this.counts.restoredWhole++;
    this.items = decoder.decode(snapshot).split('\n').slice(0, -1);
  }

  async restoreChunks(chunks: AsyncIterable<Uint8Array>): Promise<void> {
    let text = '';
    for await (const chunk of chunks) text += decoder.decode(chunk);
    this.counts.restoredInChunks++;
    this.items = text.split('\n').slice(0, -1);
  }
}

async function openSolo(
  disk: FaultFileSystem,
  stateMachine: StateMachine,
  tuning: Partial<LeaderFollowerNodeOptions> = {},
) {
  const time = new ManualTime();
  const node = await LeaderFollowerNode.open({
    id: 'solo',
    members: ['solo'],
    transport: { send: () => undefined, onMessage: () => undefined },
    stateMachine,
    fileSystem: disk,
    dataDirectory: '/data',
    clock: time,
    timers: time,
    random: { next: () => 0.5 },
    snapshotEveryEntries: 10,
    retainEntriesAfterSnapshot: 0,
    ...tuning,
  });
  node.start();
  for (let step = 0; step < 50 && node.role !== 'leader'; step++) {
    time.advance(100);
    await settle();
  }
  expect(node.role).toBe('leader');
  return node;
}

describe('LeaderFollowerNode streaming snapshots', () => {
  it('writes a chunked snapshot as it is produced and restores it in chunks on reopen', async () => {
    const disk = new FaultFileSystem({ random: seededRandom(1) });
    const list = new StreamingList();
    const node = await openSolo(disk, list);
    const items = Array.from({ length: 25 }, (_, i) => `item ${i}`);
    for (const item of items) await node.propose(encoder.encode(item));
    await settle();
    expect(node.lowWaterMark).toBeGreaterThanOrEqual(20);
    expect(list.counts.chunksProduced).toBeGreaterThan(0);
    await node.close();

    const reopened = new StreamingList();
    const again = await openSolo(disk, reopened);
    expect(reopened.counts).toMatchObject({ restoredInChunks: 1, restoredWhole: 0 });
    expect(reopened.items).toEqual(items);
    await again.close();
  });

  it('does not restore a snapshot that a self-persisting state machine already holds', async () => {
    const disk = new FaultFileSystem({ random: seededRandom(5) });
    const list = new StreamingList();
    let lastApplied = 0;
    const apply = list.apply.bind(list);
    list.apply = (index, command) => {
      lastApplied = index;
      return apply(index, command);
    };
    const node = await openSolo(disk, list);
    const items = Array.from({ length: 25 }, (_, i) => `item ${i}`);
    for (const item of items) await node.propose(encoder.encode(item));
    await settle();
    expect(node.lowWaterMark).toBeGreaterThanOrEqual(20);
    await node.close();

    // As if its own storage kept everything through lastApplied: it skips what it holds.
    const durable = new StreamingList();
    durable.items = [...list.items];
    const durableThrough = lastApplied;
    const replayed: number[] = [];
    const appendItem = durable.apply.bind(durable);
    durable.apply = (index, command) => {
      replayed.push(index);
      return index <= durableThrough ? durable.items.length : appendItem(index, command);
    };
    const selfPersisting = Object.assign(durable, { durableAppliedIndex: () => durableThrough });
    const again = await openSolo(disk, selfPersisting);
    expect(durable.counts).toMatchObject({ restoredInChunks: 0, restoredWhole: 0 });
    expect(durable.items).toEqual(items);
    // Apply resumes after what it holds durably: nothing at or below it is handed to it again.
    expect(again.appliedThrough).toBeGreaterThanOrEqual(durableThrough);
    await again.propose(encoder.encode('after'));
    expect(durable.items).toEqual([...items, 'after']);
    expect(replayed.length).toBeGreaterThan(0);
    expect(Math.min(...replayed)).toBeGreaterThan(durableThrough);
    await again.close();
  });

  it('takes a snapshot once the entries since the last one hold snapshotEveryBytes, counting across a restart', async () => {
    const disk = new FaultFileSystem({ random: seededRandom(6) });
    const bound = { snapshotEveryEntries: 1_000, snapshotEveryBytes: 1_000 };
    const item = (i: number): string => `item ${i} `.padEnd(300, '.');
    const node = await openSolo(disk, new StreamingList(), bound);
    // Three entries of 300 bytes: 900 bytes, under the bound (and far under 1,000 entries).
    for (let i = 0; i < 3; i++) await node.propose(encoder.encode(item(i)));
    await settle();
    expect(node.lowWaterMark).toBe(0);
    await node.close();

    // Restarted, the 900 bytes recovered still count: the fourth entry reaches the bound.
    const list = new StreamingList();
    const again = await openSolo(disk, list, bound);
    expect(again.lowWaterMark).toBe(0);
    await again.propose(encoder.encode(item(3)));
    await settle();
    const snapshotIndex = again.lowWaterMark;
    expect(snapshotIndex).toBeGreaterThanOrEqual(5);
    expect(list.items).toEqual([0, 1, 2, 3].map(item));
    // The count starts again after it: one more entry is not enough.
    await again.propose(encoder.encode(item(4)));
    await settle();
    expect(again.lowWaterMark).toBe(snapshotIndex);
    await again.close();
  });

  it('refuses a snapshotEveryBytes that is not positive', async () => {
    await expect(
      openSolo(new FaultFileSystem({ random: seededRandom(7) }), new StreamingList(), {
        snapshotEveryBytes: 0,
      }),
    ).rejects.toThrow(RangeError);
  });

  it('refuses to start from a damaged snapshot and leaves the state machine as it was', async () => {
    const disk = new FaultFileSystem({ random: seededRandom(2) });
    const node = await openSolo(disk, new StreamingList());
    for (let i = 0; i < 12; i++) await node.propose(encoder.encode(`write ${i}`));
    await settle();
    await node.close();
    disk.flipBit('/data/snapshot', 40);

    const untouched = new StreamingList();
    untouched.items = ['before'];
    await expect(openSolo(disk, untouched)).rejects.toBeInstanceOf(SnapshotCorruptionError);
    expect(untouched.items).toEqual(['before']);
  });

  it('fails the open when the state machine stops reading a snapshot before its end', async () => {
    const disk = new FaultFileSystem({ random: seededRandom(3) });
    const node = await openSolo(disk, new StreamingList());
    // Over 1 MiB in all, so that the node reads the snapshot back in more than one chunk.
    for (let i = 0; i < 12; i++) await node.propose(encoder.encode(`${i}`.repeat(150_000)));
    await settle();
    await node.close();

    const hasty = new StreamingList();
    hasty.restoreChunks = async (chunks) => {
      for await (const chunk of chunks) {
        hasty.items = [decoder.decode(chunk)];
        break;
      }
    };
    await expect(openSolo(disk, hasty)).rejects.toThrow(/did not read snapshot \d+ to its end/);
  });

  it('restores a state machine without restoreChunks from one buffer', async () => {
    const disk = new FaultFileSystem({ random: seededRandom(4) });
    const node = await openSolo(disk, new StreamingList());
    for (let i = 0; i < 12; i++) await node.propose(encoder.encode(`write ${i}`));
    await settle();
    await node.close();

    const whole = new StreamingList();
    const plain: StateMachine = {
      apply: (index, command) => whole.apply(index, command),
      snapshot: () => whole.snapshot(),
      restore: (snapshot) => whole.restore(snapshot),
    };
    const again = await openSolo(disk, plain);
    expect(whole.counts).toMatchObject({ restoredInChunks: 0, restoredWhole: 1 });
    expect(whole.items.slice(0, 10)).toEqual(Array.from({ length: 10 }, (_, i) => `write ${i}`));
    await again.close();
  });
});
