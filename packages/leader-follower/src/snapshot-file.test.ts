import { FaultFileSystem, seededRandom } from '@x/wal/testing';
import { describe, expect, it } from 'vitest';
import { SnapshotCorruptionError, SnapshotFile } from './snapshot-file.js';

const snapshot = { index: 42, generation: 3, data: new TextEncoder().encode('state') };

describe('SnapshotFile', () => {
  it('round-trips and survives a power loss once saved', async () => {
    const fs = new FaultFileSystem({ random: seededRandom(1) });
    const file = new SnapshotFile(fs, '/data');
    expect(await file.load()).toBeUndefined();
    await file.save(snapshot);
    fs.crash();
    expect(await new SnapshotFile(fs, '/data').load()).toEqual(snapshot);
  });

  it('keeps the previous snapshot when a save is interrupted by a power loss', async () => {
    const fs = new FaultFileSystem({ random: seededRandom(2) });
    const file = new SnapshotFile(fs, '/data');
    await file.save(snapshot);
    void file
      .save({ index: 50, generation: 3, data: new Uint8Array(4096).fill(9) })
      .catch(() => undefined);
    fs.crash();
    const loaded = await new SnapshotFile(fs, '/data').load();
    expect([42, 50]).toContain(loaded?.index);
  });

  it('refuses a damaged snapshot instead of starting from it', async () => {
    const fs = new FaultFileSystem({ random: seededRandom(3) });
    const file = new SnapshotFile(fs, '/data');
    await file.save(snapshot);
    fs.flipBit('/data/snapshot', 30);
    await expect(file.load()).rejects.toThrow(SnapshotCorruptionError);
  });
});

describe('SnapshotFile transfer', () => {
  it('sends the file in ranges and installs the received copy only once it checks out', async () => {
    const fs = new FaultFileSystem({ random: seededRandom(4) });
    const leader = new SnapshotFile(fs, '/leader');
    const metadata = await leader.save(snapshot);
    expect(metadata).toEqual(SnapshotFile.metadataOf(snapshot));
    const follower = new SnapshotFile(fs, '/follower');
    await fs.mkdir('/follower');
    for (let offset = 0; offset < metadata.sizeBytes; offset += 5) {
      await follower.writeIncoming(offset, await leader.readRange(offset, 5));
    }
    await expect(follower.installIncoming({ ...metadata, index: 41 })).rejects.toThrow(
      SnapshotCorruptionError,
    );
    expect(await follower.installIncoming(metadata)).toEqual(snapshot);
    fs.crash();
    expect(await new SnapshotFile(fs, '/follower').load()).toEqual(snapshot);
  });

  it('starts an incoming snapshot afresh at offset 0 and refuses a damaged one', async () => {
    const fs = new FaultFileSystem({ random: seededRandom(5) });
    const leader = new SnapshotFile(fs, '/leader');
    const metadata = await leader.save(snapshot);
    const follower = new SnapshotFile(fs, '/follower');
    await fs.mkdir('/follower');
    await follower.writeIncoming(0, new Uint8Array(100).fill(7));
    const bytes = await leader.readRange(0, metadata.sizeBytes);
    await follower.writeIncoming(0, bytes);
    expect((await follower.installIncoming(metadata)).index).toBe(42);
    bytes.set([(bytes.at(-1) ?? 0) ^ 1], bytes.length - 1);
    await follower.writeIncoming(0, bytes);
    await expect(follower.installIncoming(metadata)).rejects.toThrow(SnapshotCorruptionError);
    expect(await follower.load()).toEqual(snapshot);
  });
});
