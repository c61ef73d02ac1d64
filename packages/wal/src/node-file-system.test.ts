import { mkdtemp, rm, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LOCK_FILE_NAME, NodeFileSystem } from './node-file-system.js';

describe('NodeFileSystem', () => {
  let directory: string;
  const fs = new NodeFileSystem();
  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'wal-nodefs-'));
  });
  afterEach(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it('writes, reads, syncs, truncates and lists', async () => {
    const file = await fs.open(`${directory}/a`, 'create');
    await file.write(Uint8Array.from([9, 1, 2, 3]), 1, 3, 2);
    await file.datasync();
    await fs.syncDirectory(directory);
    expect(await file.size()).toBe(5);
    const buffer = new Uint8Array(8);
    expect(await file.read(buffer, 0, 8, 0)).toBe(5);
    expect([...buffer.subarray(0, 5)]).toEqual([0, 0, 1, 2, 3]);
    await file.truncate(3);
    expect(await file.size()).toBe(3);
    await file.close();
    await fs.rename(`${directory}/a`, `${directory}/b`);
    await fs.mkdir(`${directory}/sub/deeper`);
    expect(await fs.readdir(directory)).toEqual(['b', 'sub']);
    expect(await fs.exists(`${directory}/a`)).toBe(false);
    await fs.unlink(`${directory}/b`);
    await expect(fs.open(`${directory}/b`, 'readwrite')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('writes on the calling thread with writeOnLoop, and throws where write would reject', async () => {
    const file = await fs.open(`${directory}/a`, 'create');
    file.writeOnLoop!(Uint8Array.from([9, 1, 2, 3]), 1, 3, 2);
    const buffer = new Uint8Array(8);
    expect(await file.read(buffer, 0, 8, 0)).toBe(5);
    expect([...buffer.subarray(0, 5)]).toEqual([0, 0, 1, 2, 3]);
    await file.close();
    const readOnly = await fs.open(`${directory}/a`, 'read');
    let thrown: unknown;
    try {
      readOnly.writeOnLoop!(Uint8Array.from([7]), 0, 1, 0);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ code: 'EBADF' });
    await readOnly.close();
  });

  it('locks a directory against a second locker and releases it', async () => {
    const lock = await fs.lockDirectory(directory);
    await expect(fs.lockDirectory(directory)).rejects.toMatchObject({ code: 'EBUSY' });
    expect(await readFile(`${directory}/${LOCK_FILE_NAME}`, 'utf8')).toBe(`${process.pid}\n`);
    await lock.release();
    await lock.release();
    (await fs.lockDirectory(directory)).release().catch(() => undefined);
  });

  it('takes over a stale lock left by a dead process, not a live one', async () => {
    // pid 2^22+ is beyond Linux's default pid_max, so no such process exists.
    await writeFile(`${directory}/${LOCK_FILE_NAME}`, '4194304\n');
    const lock = await fs.lockDirectory(directory);
    await lock.release();
    await writeFile(`${directory}/${LOCK_FILE_NAME}`, '1\n'); // init is alive
    await expect(fs.lockDirectory(directory)).rejects.toMatchObject({ code: 'EBUSY' });
  });
});

describe('NodeFileSystem lock paths', () => {
  it('treats a relative and an absolute path of one directory as the same lock', async () => {
    const fs = new NodeFileSystem();
    const directory = await mkdtemp(join(tmpdir(), 'wal-nodefs-'));
    try {
      const lock = await fs.lockDirectory(directory);
      const relativePath = relative(process.cwd(), directory);
      expect(relativePath.startsWith('/')).toBe(false);
      await expect(fs.lockDirectory(relativePath)).rejects.toMatchObject({ code: 'EBUSY' });
      await lock.release();
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});
