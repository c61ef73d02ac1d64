import { FaultFileSystem, seededRandom } from '@x/wal/testing';
import { describe, expect, it } from 'vitest';
import { clusterConfiguration, encodeConfiguration } from './cluster-configuration.js';
import { FileNodeStorage } from './file-node-storage.js';
import type { LogEntry } from './log-entry.js';
import { MemoryNodeStorage } from './memory-node-storage.js';
import type { NodeStorage, PersistBatch, SnapshotReader } from './node-storage.js';
import { encodeSnapshotBytes } from './snapshot-file.js';

// One suite, run against both storages: what a node relies on from any NodeStorage.

interface StorageUnderTest {
  /** Opens the storage (again, after a restart, on the same durable state). */
  open(): NodeStorage;
}

const storages: Record<string, () => StorageUnderTest> = {
  FileNodeStorage: () => {
    const disk = new FaultFileSystem({ random: seededRandom(7) });
    return {
      open: () =>
        new FileNodeStorage({
          id: 'n1',
          fileSystem: disk,
          dataDirectory: '/data',
          random: seededRandom(1),
          wal: { maxSegmentBytes: 4096 },
        }),
    };
  },
  MemoryNodeStorage: () => {
    const memory = new MemoryNodeStorage({ random: seededRandom(1) });
    return { open: () => memory };
  },
};

const command = (index: number, generation = 1): LogEntry => ({
  index,
  generation,
  kind: 'command',
  command: new Uint8Array([index % 256, generation, 7]),
});

const batch = (entries: LogEntry[], more: Partial<PersistBatch> = {}): PersistBatch => ({
  snapshotChunks: [],
  entries,
  ...more,
});

const range = (from: number, to: number, generation = 1): LogEntry[] =>
  Array.from({ length: to - from + 1 }, (_, offset) => command(from + offset, generation));

describe.each(Object.entries(storages))('%s', (_name, create) => {
  it('starts empty with a storage identity that survives a restart', async () => {
    const under = create();
    const storage = under.open();
    const first = await storage.recover();
    expect(first.entries).toEqual([]);
    expect(first.snapshot).toBeUndefined();
    expect(first.hardState).toEqual({ generation: 0, votedFor: undefined });
    expect(first.memberState.storageId).toMatch(/^[0-9a-f]{32}$/);
    await storage.close();
    const again = await under.open().recover();
    expect(again.memberState.storageId).toBe(first.memberState.storageId);
  });

  it('keeps hard state and entries across a restart, and replaces a conflicting suffix', async () => {
    const under = create();
    const storage = under.open();
    await storage.recover();
    await storage.persist(batch(range(1, 5), { hardState: { generation: 2, votedFor: 'n2' } }));
    await storage.persist(batch(range(4, 6, 2)));
    expect(await storage.readEntries(2, 6)).toEqual([...range(2, 3), ...range(4, 6, 2)]);
    await storage.close();
    const recovered = await under.open().recover();
    expect(recovered.hardState).toEqual({ generation: 2, votedFor: 'n2' });
    expect(recovered.entries).toEqual([...range(1, 3), ...range(4, 6, 2)]);
  });

  it('recovers entries through the applied index hollow, keeping the window and configurations whole', async () => {
    const under = create();
    const storage = under.open();
    await storage.recover();
    const configuration: LogEntry = {
      index: 3,
      generation: 1,
      kind: 'configuration',
      command: encodeConfiguration(clusterConfiguration(['n1', 'n2'], [])),
    };
    const stored = [...range(1, 2), configuration, ...range(4, 10, 2)];
    await storage.persist(batch(stored));
    await storage.close();
    const again = under.open();
    // Applied through 8; the window keeps the last two commands' bytes (3 bytes each).
    const recovered = await again.recover({ appliedThrough: 8, keepRecentBytes: 6 });
    const hollow = (entry: LogEntry): LogEntry => ({
      ...entry,
      command: new Uint8Array(0),
      hollowCommandBytes: entry.command.length,
    });
    expect(recovered.entries).toEqual([
      ...range(1, 2).map(hollow),
      configuration,
      ...range(4, 6, 2).map(hollow),
      ...range(7, 10, 2),
    ]);
    expect(recovered.hardState.generation).toBe(2);
    // Their bytes are still stored, for a follower that needs them.
    expect(await again.readEntries(1, 10)).toEqual(stored);
  });

  it('settles persist calls in call order, whatever finishes first', async () => {
    const storage = create().open();
    await storage.recover();
    const order: string[] = [];
    const calls = [
      storage.persist(batch(range(1, 2), { hardState: { generation: 1, votedFor: 'n1' } })),
      storage.persist(batch(range(3, 3))),
      storage.persist(batch([], { hardState: { generation: 2, votedFor: undefined } })),
      storage.persist(batch(range(4, 9, 2))),
    ];
    calls.forEach((call, position) => void call.then(() => order.push(`persist ${position}`)));
    await Promise.all(calls);
    expect(order).toEqual(['persist 0', 'persist 1', 'persist 2', 'persist 3']);
    await storage.close();
  });

  it('answers undefined for entries it does not hold, and releases below the low-water mark', async () => {
    const storage = create().open();
    await storage.recover();
    await storage.persist(batch(range(1, 40)));
    expect(await storage.readEntries(41, 42)).toBeUndefined();
    expect(await storage.readEntries(30, 40)).toEqual(range(30, 40));
    await storage.releaseBelow(35);
    // Whole segments go (file) or entries (memory): what is at or above the mark stays.
    expect(await storage.readEntries(35, 40)).toEqual(range(35, 40));
    await storage.close();
  });

  it('records the acknowledged index only as far as it holds entries, never backwards', async () => {
    const under = create();
    const storage = under.open();
    await storage.recover();
    await storage.persist(batch(range(1, 4)));
    await storage.recordMemberState({ acknowledgedIndex: 10 });
    expect(storage.memberState.acknowledgedIndex).toBe(4);
    await storage.recordMemberState({ acknowledgedIndex: 2 });
    expect(storage.memberState.acknowledgedIndex).toBe(4);
    await storage.recordMemberState({ peerStorageIdsLearned: new Map([['n2', 'ab'.repeat(16)]]) });
    await storage.close();
    const recovered = await under.open().recover();
    expect(recovered.memberState.acknowledgedIndex).toBe(4);
    expect(recovered.memberState.peerStorageIds.get('n2')).toBe('ab'.repeat(16));
  });

  it('saves a snapshot, serves its bytes by range and never moves back to an older one', async () => {
    const under = create();
    const storage = under.open();
    await storage.recover();
    await storage.persist(batch(range(1, 10)));
    const data = new Uint8Array(3000).map((_, i) => i % 251);
    const saved = await storage.saveSnapshot({ index: 8, generation: 1, data: [data] });
    expect(saved.index).toBe(8);
    const bytes = encodeSnapshotBytes({ index: 8, generation: 1, data });
    expect(saved.sizeBytes).toBe(bytes.length);
    expect(await storage.readSnapshotRange(8, 100, 50)).toEqual(bytes.slice(100, 150));
    expect(await storage.readSnapshotRange(7, 0, 10)).toBeUndefined();
    const older = await storage.saveSnapshot({ index: 5, generation: 1, data });
    expect(older.index).toBe(8);
    await storage.close();
    const recovered = await under.open().recover();
    expect(recovered.snapshot?.metadata.index).toBe(8);
    expect(await recovered.snapshot?.readAll()).toEqual(data);
    await recovered.snapshot?.close();
    expect(recovered.entries.map((entry) => entry.index)).toEqual([9, 10]);
  });

  it('installs a streamed snapshot: restores it before later work, and restarts the log after it', async () => {
    const under = create();
    const storage = under.open();
    await storage.recover();
    await storage.persist(batch(range(1, 3)));
    const data = new Uint8Array(1000).map((_, i) => (i * 7) % 256);
    const bytes = encodeSnapshotBytes({ index: 50, generation: 3, data });
    const metadata = { index: 50, generation: 3, sizeBytes: bytes.length };
    const events: string[] = [];
    const restore = async (snapshot: SnapshotReader): Promise<void> => {
      events.push('restore started');
      expect(await snapshot.readAll()).toEqual(data);
      events.push('restored');
    };
    const chunk = (offset: number, length: number) => ({
      snapshotIndex: 50,
      snapshotGeneration: 3,
      offset,
      totalBytes: bytes.length,
      data: bytes.slice(offset, offset + length),
    });
    const first = storage.persist(batch([], { snapshotChunks: [chunk(0, 600)] }));
    const install = storage.persist(
      batch([], {
        snapshotChunks: [chunk(600, bytes.length - 600)],
        snapshotToInstall: { metadata, restore },
      }),
    );
    const after = storage.persist(batch([command(51, 3)]));
    void after.then(() => events.push('entry 51 durable'));
    await Promise.all([first, install, after]);
    expect(events).toEqual(['restore started', 'restored', 'entry 51 durable']);
    expect(await storage.readEntries(2, 3)).toBeUndefined();
    await storage.close();
    const recovered = await under.open().recover();
    expect(recovered.snapshot?.metadata).toEqual(metadata);
    await recovered.snapshot?.close();
    expect(recovered.entries).toEqual([command(51, 3)]);
  });

  it('refuses an incoming snapshot that is not the expected one, and fails stop', async () => {
    const storage = create().open();
    await storage.recover();
    const bytes = encodeSnapshotBytes({ index: 9, generation: 1, data: new Uint8Array(64) });
    bytes[bytes.length - 1] = 1; // damaged in transit
    const install = storage.persist(
      batch([], {
        snapshotChunks: [
          {
            snapshotIndex: 9,
            snapshotGeneration: 1,
            offset: 0,
            totalBytes: bytes.length,
            data: bytes,
          },
        ],
        snapshotToInstall: {
          metadata: { index: 9, generation: 1, sizeBytes: bytes.length },
          restore: () => Promise.resolve(),
        },
      }),
    );
    await expect(install).rejects.toThrow(/checksum/);
    await expect(storage.persist(batch(range(1, 1)))).rejects.toThrow(/checksum/);
    await storage.close();
  });
});
