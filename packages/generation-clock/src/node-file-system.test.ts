import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileGenerationStore } from './file-generation-store.js';
import { GenerationClock } from './generation-clock.js';
import { NodeFileSystem } from './node-file-system.js';

let directory: string;

beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'generation-clock-'));
});

afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('NodeFileSystem', () => {
  it('runs a generation clock on a real disk, across a reopen', async () => {
    const fileSystem = new NodeFileSystem();
    const dataDirectory = `${directory}/data/node-1`;
    const store = new FileGenerationStore({ fileSystem, directory: dataDirectory });
    const clock = await GenerationClock.open(store);
    expect(await clock.next({ votedFor: 'athens' })).toBe(1);
    expect(await clock.observe(4)).toBe(true);
    expect(await clock.vote('cyrene', 4)).toBe(true);

    const reopened = await GenerationClock.open(
      new FileGenerationStore({ fileSystem: new NodeFileSystem(), directory: dataDirectory }),
    );
    expect(reopened.current).toBe(4);
    expect(reopened.votedFor).toBe('cyrene');
    expect((await readFile(store.path)).length).toBe(16 + 'cyrene'.length + 4);
  });

  it('deletes a leftover temporary file and keeps the real one', async () => {
    const fileSystem = new NodeFileSystem();
    const store = new FileGenerationStore({ fileSystem, directory });
    await store.save({ generation: 2 });
    await writeFile(`${store.path}.tmp`, 'half a record');
    expect(await store.load()).toEqual({ generation: 2 });
    expect(await fileSystem.exists(`${store.path}.tmp`)).toBe(false);
  });

  it('opens, reads and writes at positions, and reports what exists', async () => {
    const fileSystem = new NodeFileSystem();
    const path = `${directory}/file`;
    expect(await fileSystem.exists(path)).toBe(false);
    await expect(fileSystem.open(path, 'read')).rejects.toMatchObject({ code: 'ENOENT' });
    const handle = await fileSystem.open(path, 'create');
    await handle.write(new Uint8Array([1, 2, 3, 4]), 1, 2, 5);
    expect(await handle.size()).toBe(7);
    await handle.truncate(6);
    await handle.datasync();
    await handle.close();
    const reader = await fileSystem.open(path, 'readwrite');
    const buffer = new Uint8Array(8);
    expect(await reader.read(buffer, 0, 8, 0)).toBe(6);
    expect([...buffer.subarray(0, 6)]).toEqual([0, 0, 0, 0, 0, 2]);
    await reader.close();
    await fileSystem.rename(path, `${path}-renamed`);
    await fileSystem.syncDirectory(directory);
    expect(await fileSystem.exists(`${path}-renamed`)).toBe(true);
    await fileSystem.unlink(`${path}-renamed`);
    expect(await fileSystem.exists(`${path}-renamed`)).toBe(false);
  });

  it('passes on errors other than a missing file', async () => {
    const fileSystem = new NodeFileSystem();
    await writeFile(`${directory}/plain`, '');
    await expect(fileSystem.exists(`${directory}/plain/child`)).rejects.toMatchObject({
      code: 'ENOTDIR',
    });
    await expect(fileSystem.syncDirectory(`${directory}/missing`)).rejects.toMatchObject({
      code: 'ENOENT',
    });
  });
});
