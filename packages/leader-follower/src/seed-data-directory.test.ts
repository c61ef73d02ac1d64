import { FaultFileSystem, seededRandom } from '@x/wal/testing';
import { describe, expect, it } from 'vitest';
import { FileNodeStorage } from './file-node-storage.js';
import { seedDataDirectory } from './seed-data-directory.js';

const data = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]);

function storage(disk: FaultFileSystem): FileNodeStorage {
  return new FileNodeStorage({
    id: 'n1',
    fileSystem: disk,
    dataDirectory: '/data',
    random: seededRandom(1),
  });
}

describe('seedDataDirectory', () => {
  it('makes a new member start from the snapshot, its log after it, with a new identity', async () => {
    const disk = new FaultFileSystem({ random: seededRandom(3) });
    const metadata = await seedDataDirectory(disk, '/data', {
      index: 7,
      generation: 2,
      data: [data.subarray(0, 4), data.subarray(4)],
    });
    expect(metadata).toMatchObject({ index: 7, generation: 2 });
    // Durable: the snapshot survives a power loss right after the seed.
    disk.crash();
    const recovered = await storage(disk).recover();
    expect(recovered.snapshot?.metadata).toEqual(metadata);
    expect(await recovered.snapshot?.readAll()).toEqual(data);
    expect(recovered.entries).toEqual([]);
    expect(recovered.hardState.generation).toBe(2);
    expect(recovered.memberState.acknowledgedIndex).toBe(0);
    expect(recovered.memberState.storageId).not.toBe('');
    await recovered.snapshot?.close();
  });

  it('never overwrites a directory that holds anything, and refuses a zero index', async () => {
    const disk = new FaultFileSystem({ random: seededRandom(4) });
    await seedDataDirectory(disk, '/data', { index: 1, generation: 1, data });
    await expect(
      seedDataDirectory(disk, '/data', { index: 1, generation: 1, data }),
    ).rejects.toThrow('is not empty (snapshot)');
    await expect(
      seedDataDirectory(disk, '/other', { index: 0, generation: 1, data }),
    ).rejects.toThrow(RangeError);
  });
});
