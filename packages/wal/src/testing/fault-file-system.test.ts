import { describe, expect, it } from 'vitest';
import { FaultFileSystem } from './fault-file-system.js';
import { seededRandom } from './seeded-random.js';

const bytes = (...values: number[]) => Uint8Array.from(values);
const filled = (length: number, value: number) => new Uint8Array(length).fill(value);

async function freshFs(seed = 1) {
  const fs = new FaultFileSystem({ random: seededRandom(seed) });
  await fs.mkdir('/data');
  return fs;
}

describe('FaultFileSystem', () => {
  it('reads back what was written and reports size', async () => {
    const fs = await freshFs();
    const file = await fs.open('/data/a', 'create');
    await file.write(bytes(1, 2, 3, 4), 1, 2, 5);
    expect(await file.size()).toBe(7);
    const buffer = new Uint8Array(10);
    expect(await file.read(buffer, 0, 10, 0)).toBe(7);
    expect([...buffer.subarray(0, 7)]).toEqual([0, 0, 0, 0, 0, 2, 3]);
    expect(await file.read(buffer, 0, 10, 7)).toBe(0);
    await file.truncate(6);
    expect(fs.fileContent('/data/a')).toEqual(bytes(0, 0, 0, 0, 0, 2));
  });

  it('rejects opening a missing file unless creating', async () => {
    const fs = await freshFs();
    await expect(fs.open('/data/missing', 'read')).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(fs.open('/nowhere/x', 'create')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('keeps synced data and a synced name across a crash', async () => {
    const fs = await freshFs();
    const file = await fs.open('/data/a', 'create');
    await file.write(filled(1000, 7), 0, 1000, 0);
    await file.datasync();
    await fs.syncDirectory('/data');
    fs.crash();
    expect(fs.fileContent('/data/a')).toEqual(filled(1000, 7));
    await expect(file.size()).rejects.toMatchObject({ code: 'EBADF' });
  });

  it('loses a file whose directory entry was never synced, even if its data was', async () => {
    const fs = await freshFs();
    const file = await fs.open('/data/a', 'create');
    await file.write(filled(10, 1), 0, 10, 0);
    await file.datasync();
    fs.crash();
    expect(await fs.exists('/data/a')).toBe(false);
    expect(await fs.readdir('/data')).toEqual([]);
  });

  it('reverts unsynced renames and unlinks', async () => {
    const fs = await freshFs();
    await (await fs.open('/data/a', 'create')).datasync();
    await (await fs.open('/data/b', 'create')).datasync();
    await fs.syncDirectory('/data');
    await fs.rename('/data/a', '/data/c');
    await fs.unlink('/data/b');
    expect(await fs.readdir('/data')).toEqual(['c']);
    fs.crash();
    expect(await fs.readdir('/data')).toEqual(['a', 'b']);
  });

  it('drops or tears unsynced writes only at sector boundaries, never touching synced bytes', async () => {
    const outcomes = new Set<string>();
    for (let seed = 1; seed <= 60; seed++) {
      const fs = await freshFs(seed);
      const file = await fs.open('/data/a', 'create');
      await file.write(filled(300, 1), 0, 300, 0);
      await file.datasync();
      await fs.syncDirectory('/data');
      await file.write(filled(1500, 2), 0, 1500, 300);
      fs.crash();
      const content = fs.fileContent('/data/a')!;
      expect(content.subarray(0, 300)).toEqual(filled(300, 1));
      // Sectors: [300,512) [512,1024) [1024,1536) [1536,1800); each is all 2s or all 0s / absent.
      const sectors = [
        [300, 512],
        [512, 1024],
        [1024, 1536],
        [1536, 1800],
      ] as const;
      const shape = sectors.map(([start, end]) => {
        const part = content.subarray(start, end);
        if (part.length === 0) return '-';
        expect(part.length).toBe(end - start);
        if (part.every((b) => b === 2)) return '2';
        expect(part.every((b) => b === 0)).toBe(true);
        return '0';
      });
      outcomes.add(shape.join(''));
    }
    expect(outcomes.has('----')).toBe(true); // dropped
    expect(outcomes.has('2222')).toBe(true); // kept
    expect(outcomes.size).toBeGreaterThan(3); // torn in several ways
  });

  it('is deterministic for a seed', async () => {
    const run = async () => {
      const fs = await freshFs(42);
      const file = await fs.open('/data/a', 'create');
      for (let i = 0; i < 20; i++) await file.write(filled(700, i), 0, 700, i * 700);
      await fs.syncDirectory('/data');
      fs.crash();
      return fs.fileContent('/data/a');
    };
    expect(await run()).toEqual(await run());
  });

  it('injects EIO on matching paths for the next N calls', async () => {
    const fs = await freshFs();
    const file = await fs.open('/data/seg.wal', 'create');
    const other = await fs.open('/data/other', 'create');
    fs.injectFault({ operation: 'datasync', path: /\.wal$/, times: 1 });
    await expect(file.datasync()).rejects.toMatchObject({ code: 'EIO' });
    await other.datasync();
    await file.datasync();
    fs.injectFault({ operation: 'write', code: 'EIO' });
    await expect(other.write(bytes(1), 0, 1, 0)).rejects.toMatchObject({ code: 'EIO' });
    fs.clearFaults();
    await other.write(bytes(1), 0, 1, 0);
  });

  it('writes what fits then fails with ENOSPC once the space budget is used', async () => {
    const fs = await freshFs();
    const file = await fs.open('/data/a', 'create');
    fs.limitSpace(10);
    await file.write(filled(6, 1), 0, 6, 0);
    await expect(file.write(filled(6, 2), 0, 6, 6)).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(fs.fileContent('/data/a')).toEqual(bytes(1, 1, 1, 1, 1, 1, 2, 2, 2, 2));
    await file.write(filled(3, 3), 0, 3, 0); // overwriting in place needs no space
  });

  it('locks a directory exclusively and releases locks on crash', async () => {
    const fs = await freshFs();
    const lock = await fs.lockDirectory('/data');
    await expect(fs.lockDirectory('/data')).rejects.toMatchObject({ code: 'EBUSY' });
    await lock.release();
    const again = await fs.lockDirectory('/data');
    fs.crash();
    const afterCrash = await fs.lockDirectory('/data');
    await again.release(); // stale handle: must not release the new holder's lock
    await expect(fs.lockDirectory('/data')).rejects.toMatchObject({ code: 'EBUSY' });
    await afterCrash.release();
  });

  it('flips bits at rest for corruption tests', async () => {
    const fs = await freshFs();
    const file = await fs.open('/data/a', 'create');
    await file.write(bytes(0, 0), 0, 2, 0);
    await file.datasync();
    await fs.syncDirectory('/data');
    fs.flipBit('/data/a', 1, 3);
    expect(fs.fileContent('/data/a')).toEqual(bytes(0, 8));
    expect(fs.durableFileContent('/data/a')).toEqual(bytes(0, 8));
  });

  it('makes exactly the writes and truncations before a datasync durable, in order', async () => {
    const fs = await freshFs();
    const file = await fs.open('/data/a', 'create');
    await fs.syncDirectory('/data');
    await file.write(filled(4, 1), 0, 4, 0);
    await file.datasync();
    await file.write(filled(4, 2), 0, 4, 2);
    await file.truncate(3);
    await file.write(bytes(7), 0, 1, 5);
    await file.datasync();
    await file.write(filled(2, 9), 0, 2, 0);
    expect(fs.durableFileContent('/data/a')).toEqual(bytes(1, 1, 2, 0, 0, 7));
    expect(fs.fileContent('/data/a')).toEqual(bytes(9, 9, 2, 0, 0, 7));
  });

  it('keeps a flipped bit through a later sync of an unsynced write over it', async () => {
    const fs = await freshFs();
    const file = await fs.open('/data/a', 'create');
    await fs.syncDirectory('/data');
    await file.write(bytes(0, 0), 0, 2, 0);
    fs.flipBit('/data/a', 1, 0);
    await file.datasync();
    expect(fs.durableFileContent('/data/a')).toEqual(bytes(0, 1));
  });

  it('awaits the delay hook before each operation', async () => {
    const seen: string[] = [];
    const fs = new FaultFileSystem({
      random: seededRandom(1),
      delay: (operation, path) => {
        seen.push(`${operation} ${path}`);
      },
    });
    await fs.mkdir('/d');
    await (await fs.open('/d/x', 'create')).datasync();
    expect(seen).toEqual(['mkdir /d', 'open /d/x', 'datasync /d/x']);
  });
});

describe('FaultFileSystem.processView', () => {
  it('stops a crashed process from touching the recovered disk', async () => {
    const fs = await freshFs();
    const before = fs.processView();
    const inFlight = before.open('/data/late', 'create');
    fs.crash();
    await expect(inFlight).rejects.toMatchObject({ code: 'EBADF' });
    await expect(before.syncDirectory('/data')).rejects.toMatchObject({ code: 'EBADF' });
    expect(await fs.exists('/data/late')).toBe(false);
    const after = fs.processView();
    await (await after.open('/data/new', 'create')).close();
    expect(await after.readdir('/data')).toEqual(['new']);
  });
});

describe('removeTree', () => {
  it('deletes every file and subdirectory under a directory, durably', async () => {
    const fs = new FaultFileSystem({ random: seededRandom(3) });
    await fs.mkdir('/data/log-1');
    const file = await fs.open('/data/log-1/a.wal', 'create');
    await file.write(new Uint8Array([1]), 0, 1, 0);
    await file.datasync();
    await file.close();
    await fs.syncDirectory('/data/log-1');
    await fs.syncDirectory('/data');
    const other = await fs.open('/data/generation', 'create');
    await other.close();
    fs.removeTree('/data');
    expect(fs.listFiles()).toEqual([]);
    expect(await fs.exists('/data/log-1')).toBe(false);
    expect(await fs.exists('/data')).toBe(false);
    fs.crash();
    expect(fs.listFiles()).toEqual([]);
  });
});
