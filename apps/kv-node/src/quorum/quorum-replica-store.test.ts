import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { hybridTimestamp } from '@x/clocks';
import { afterEach, describe, expect, it } from 'vitest';
import { BelowCollectionHorizonError, QuorumReplicaStore } from './quorum-replica-store.js';

const directories: string[] = [];
afterEach(async () => {
  await Promise.all(directories.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function directory(): Promise<string> {
  const dir = await mkdtemp(`${tmpdir()}/quorum-store-`);
  directories.push(dir);
  return `${dir}/quorum-log`;
}

const at = (wallMs: number, writer = 'athens') => ({
  timestamp: hybridTimestamp(wallMs, 0),
  writer,
});

describe('QuorumReplicaStore', () => {
  it('keeps the newest version of each key whatever order writes arrive in', async () => {
    const store = QuorumReplicaStore.inMemory();
    expect(await store.write('k', { value: 'new', version: at(20) })).toBe(true);
    expect(await store.write('k', { value: 'old', version: at(10) })).toBe(false);
    expect(await store.write('k', { value: 'new', version: at(20) })).toBe(false);
    expect(store.get('k')?.value).toBe('new');
    expect(await store.write('k', { value: 'tie', version: at(20, 'byzantium') })).toBe(true);
    expect(store.get('k')?.value).toBe('tie');
    expect(await store.write('k', { value: null, version: at(30) })).toBe(true);
    expect(store.get('k')?.value).toBeNull();
  });

  it('lists key ranges in order, tombstones included, up to a limit', async () => {
    const store = QuorumReplicaStore.inMemory();
    for (const key of ['b', 'a', 'd', 'c']) await store.write(key, { value: key, version: at(1) });
    await store.write('c', { value: null, version: at(2) });
    expect(store.range('a', 'd', 0).map(({ key }) => key)).toEqual(['a', 'b', 'c']);
    expect(store.range('b', undefined, 2).map(({ key }) => key)).toEqual(['b', 'c']);
    expect(store.range('b', undefined, 0)[1]?.stored.value).toBeNull();
  });

  it('recovers every acknowledged write from its log, and the highest timestamp', async () => {
    const dir = await directory();
    const store = await QuorumReplicaStore.open(dir);
    await store.write('k', { value: 'two', version: at(200) });
    await store.write('k', { value: 'one', version: at(100) });
    await store.write('gone', { value: 'x', version: at(50) });
    await store.write('gone', { value: null, version: at(60) });
    await store.close();

    const reopened = await QuorumReplicaStore.open(dir);
    expect(reopened.get('k')).toEqual({ value: 'two', version: at(200) });
    expect(reopened.get('gone')?.value).toBeNull();
    expect(reopened.highestTimestamp).toEqual(hybridTimestamp(200, 0));
    await reopened.close();
  });
});

describe('QuorumReplicaStore tombstone collection', () => {
  const peers = ['byzantium', 'cyrene'];

  it('collects a tombstone only once every peer holds it and it is older than the grace time', async () => {
    const store = QuorumReplicaStore.inMemory();
    const empty = QuorumReplicaStore.inMemory();
    await store.write('k', { value: 'v', version: at(10) });
    await store.write('k', { value: null, version: at(20) });
    expect(store.tombstones).toBe(1);
    store.confirmTombstone('byzantium', 'k', at(20));
    expect(store.collectTombstones(peers, 1000, 100)).toBe(0);
    // A peer that holds an older version does not count.
    store.confirmTombstone('cyrene', 'k', at(10));
    expect(store.collectTombstones(peers, 1000, 100)).toBe(0);
    store.confirmTombstone('cyrene', 'k', at(20));
    // Too young: the grace time has not passed.
    expect(store.collectTombstones(peers, 110, 100)).toBe(0);
    expect(store.collectTombstones(peers, 1000, 100)).toBe(1);
    expect(store.get('k')).toBeUndefined();
    expect(store.tombstones).toBe(0);
    expect(store.collectionHorizon).toEqual(at(20));
    // Nothing left of the key: the digests are those of a store that never had it.
    expect(store.stateHash()).toBe(empty.stateHash());
  });

  it('forgets who held a tombstone when a newer version of the key arrives', async () => {
    const store = QuorumReplicaStore.inMemory();
    await store.write('k', { value: null, version: at(20) });
    for (const peer of peers) store.confirmTombstone(peer, 'k', at(20));
    await store.write('k', { value: null, version: at(30) });
    expect(store.collectTombstones(peers, 1000, 100)).toBe(0);
    await store.write('k', { value: 'back', version: at(40) });
    expect(store.tombstones).toBe(0);
  });

  it('refuses a sent old value of a key it no longer holds, and takes pulled ones and new writes', async () => {
    const store = QuorumReplicaStore.inMemory();
    await store.write('k', { value: null, version: at(20) });
    for (const peer of peers) store.confirmTombstone(peer, 'k', at(20));
    store.collectTombstones(peers, 1000, 100);
    // A coordinator's write or read repair from before the delete would bring the key back.
    await expect(store.write('k', { value: 'old', version: at(15) })).rejects.toThrow(
      BelowCollectionHorizonError,
    );
    expect(store.get('k')).toBeUndefined();
    // The collected tombstone itself, sent or pulled again, is not stored again.
    expect(store.wasCollected('k', at(20))).toBe(true);
    expect(await store.write('k', { value: null, version: at(20) }, 'pulled')).toBe(false);
    expect(await store.write('k', { value: null, version: at(20) })).toBe(false);
    // An old value of another key this member missed, pulled by its own anti-entropy, is stored.
    expect(await store.write('missed', { value: 'm', version: at(5) }, 'pulled')).toBe(true);
    // Any tombstone of a key it never collected is stored: a tombstone brings nothing back.
    expect(await store.write('other', { value: null, version: at(6) })).toBe(true);
    // Above the horizon everything is an ordinary write.
    expect(await store.write('k', { value: 'new', version: at(25) })).toBe(true);
    expect(store.get('k')?.value).toBe('new');
  });

  it('remembers a collected key until no peer holds its tombstone', async () => {
    const store = QuorumReplicaStore.inMemory();
    await store.write('k', { value: null, version: at(20) });
    for (const peer of peers) store.confirmTombstone(peer, 'k', at(20));
    store.collectTombstones(peers, 1000, 100);
    // Byzantium has collected it too; cyrene still holds it.
    store.observeCollected('byzantium', peers, () => undefined);
    store.observeCollected('cyrene', peers, () => at(20));
    expect(store.wasCollected('k', at(20))).toBe(true);
    expect(await store.write('k', { value: null, version: at(20) }, 'pulled')).toBe(false);
    // A peer holding something newer will not send the tombstone back either.
    store.observeCollected('cyrene', peers, () => at(30));
    expect(store.wasCollected('k', at(20))).toBe(false);
    // Stored again if it ever comes back (safe: a tombstone), to be collected again.
    expect(await store.write('k', { value: null, version: at(20) })).toBe(true);
  });
});

describe('QuorumReplicaStore compaction', () => {
  it('keeps its log bounded under overwrites and restarts from the snapshot with the same state', async () => {
    const dir = await directory();
    const options = { compactAfterRecords: 100, maxSegmentBytes: 4096 };
    const store = await QuorumReplicaStore.open(dir, options);
    let segmentsSeen = 0;
    for (let round = 0; round < 60; round++) {
      for (let key = 0; key < 20; key++) {
        await store.write(`k${key}`, {
          value: `${round}:${'x'.repeat(40)}`,
          version: at(round * 100 + key),
        });
      }
      segmentsSeen = Math.max(segmentsSeen, store.logSegments());
    }
    await store.write('k0', { value: null, version: at(10_000) });
    await store.write('gone', { value: null, version: at(9_000) });
    for (const peer of ['byzantium', 'cyrene']) store.confirmTombstone(peer, 'gone', at(9_000));
    expect(store.collectTombstones(['byzantium', 'cyrene'], 20_000, 100)).toBe(1);
    await store.compact();
    // 1,200 records of about 70 bytes would need 20 segments of 4 KiB; compaction keeps a few.
    expect(store.snapshotIndex).toBe(1202);
    expect(segmentsSeen).toBeLessThanOrEqual(6);
    expect(store.logSegments()).toBeLessThanOrEqual(2);
    const hash = store.stateHash();
    await store.write('after', { value: 'a', version: at(20_001) });
    await store.close();

    const reopened = await QuorumReplicaStore.open(dir, options);
    expect(reopened.get('k5')?.value).toBe(`59:${'x'.repeat(40)}`);
    expect(reopened.get('k0')?.value).toBeNull();
    expect(reopened.get('after')?.value).toBe('a');
    expect(reopened.get('gone')).toBeUndefined();
    // The horizon survives the restart: a late old value of the collected key is still refused.
    expect(reopened.collectionHorizon).toEqual(at(9_000));
    await expect(reopened.write('gone', { value: 'old', version: at(8_000) })).rejects.toThrow(
      BelowCollectionHorizonError,
    );
    expect(reopened.highestTimestamp).toEqual(hybridTimestamp(20_001, 0));
    await reopened.write('after', { value: null, version: at(20_002) });
    await reopened.write('after', { value: 'a', version: at(20_003) });
    expect(reopened.stateHash()).not.toBe(hash);
    await reopened.close();
  }, 60_000); // 1,200 writes, each fdatasynced on the real disk: seconds when the disk is busy

  it('runs compactions asked for at once one after the other (they share a temporary file)', async () => {
    const dir = await directory();
    const store = await QuorumReplicaStore.open(dir, { compactAfterRecords: 1_000_000 });
    await store.write('k', { value: 'v', version: at(1) });
    await Promise.all([store.compact(), store.compact(), store.compact()]);
    expect(store.snapshotIndex).toBe(1);
    await store.close();
  });

  it('includes writes still being appended in a snapshot taken meanwhile', async () => {
    const dir = await directory();
    const store = await QuorumReplicaStore.open(dir, { compactAfterRecords: 1_000_000 });
    const writes = Array.from({ length: 50 }, (_, index) =>
      store.write(`w${index}`, { value: `v${index}`, version: at(index + 1) }),
    );
    // The appends are queued, not yet durable: the snapshot must still hold them.
    const compaction = store.compact();
    await Promise.all(writes);
    await compaction;
    await store.close();
    const reopened = await QuorumReplicaStore.open(dir);
    for (let index = 0; index < 50; index++)
      expect(reopened.get(`w${index}`)?.value).toBe(`v${index}`);
    await reopened.close();
  });
});
