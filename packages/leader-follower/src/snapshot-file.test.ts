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
