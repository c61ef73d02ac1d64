import { FaultFileSystem, seededRandom } from '@x/wal/testing';
import { describe, expect, it } from 'vitest';
import { CorruptGenerationFileError } from './errors.js';
import { FileGenerationStore } from './file-generation-store.js';
import { encodeGenerationState } from './generation-file-format.js';

const directory = '/data/node-1';
const path = `${directory}/generation`;
const temporaryPath = `${path}.tmp`;

function setUp(seed = 1) {
  const fileSystem = new FaultFileSystem({ random: seededRandom(seed) });
  const store = new FileGenerationStore({ fileSystem, directory });
  return { fileSystem, store };
}

/** Leaves a temporary file behind, as a save interrupted before its rename would. */
async function leaveTemporaryFile(fileSystem: FaultFileSystem, bytes: Uint8Array): Promise<void> {
  await fileSystem.mkdir(directory);
  const handle = await fileSystem.open(temporaryPath, 'create');
  await handle.write(bytes, 0, bytes.length, 0);
  await handle.datasync();
  await handle.close();
  await fileSystem.syncDirectory(directory);
}

describe('FileGenerationStore', () => {
  it('loads nothing from an empty directory, creating it', async () => {
    const { fileSystem, store } = setUp();
    expect(await store.load()).toBeUndefined();
    expect(await fileSystem.exists(directory)).toBe(true);
    expect(store.path).toBe(path);
  });

  it('saves durably: after a crash that drops everything unsynced, the saved state is there', async () => {
    const { fileSystem, store } = setUp();
    await store.load();
    await store.save({ generation: 1 });
    await store.save({ generation: 2, votedFor: 'athens' });
    fileSystem.crash();
    expect(await new FileGenerationStore({ fileSystem, directory }).load()).toEqual({
      generation: 2,
      votedFor: 'athens',
    });
    expect(fileSystem.listFiles()).toEqual([path]);
  });

  it('writes via a temporary file, a datasync, a rename and a directory sync', async () => {
    const { fileSystem, store } = setUp();
    await store.save({ generation: 5 });
    expect(fileSystem.durableFileContent(path)).toEqual(encodeGenerationState({ generation: 5 }));
    expect(fileSystem.stats.datasyncs).toBe(1);
    expect(fileSystem.stats.directorySyncs).toBe(1);
    expect(await fileSystem.exists(temporaryPath)).toBe(false);
  });

  it('deletes a complete leftover temporary file without promoting it', async () => {
    const { fileSystem, store } = setUp();
    await store.save({ generation: 3 });
    await leaveTemporaryFile(fileSystem, encodeGenerationState({ generation: 4 }));
    expect(await store.load()).toEqual({ generation: 3 });
    expect(await fileSystem.exists(temporaryPath)).toBe(false);
    fileSystem.crash();
    expect(fileSystem.listFiles()).toEqual([path]); // the deletion was made durable
  });

  it('deletes a torn leftover temporary file, with or without a real file beside it', async () => {
    const { fileSystem, store } = setUp();
    await leaveTemporaryFile(fileSystem, encodeGenerationState({ generation: 4 }).subarray(0, 9));
    expect(await store.load()).toBeUndefined();
    expect(fileSystem.listFiles()).toEqual([]);
    await store.save({ generation: 1 });
    await leaveTemporaryFile(fileSystem, new Uint8Array([1, 2, 3]));
    expect(await store.load()).toEqual({ generation: 1 });
    expect(fileSystem.listFiles()).toEqual([path]);
  });

  it('overwrites a longer leftover temporary file when saving', async () => {
    const { fileSystem, store } = setUp();
    await leaveTemporaryFile(fileSystem, new Uint8Array(100).fill(7));
    await store.save({ generation: 1 });
    expect(await store.load()).toEqual({ generation: 1 });
  });

  it('refuses a corrupt file, naming it, and leaves everything as it was', async () => {
    const { fileSystem, store } = setUp();
    await store.save({ generation: 9, votedFor: 'cyrene' });
    await leaveTemporaryFile(fileSystem, encodeGenerationState({ generation: 10 }));
    fileSystem.flipBit(path, 10, 3);
    const error = await store.load().catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(CorruptGenerationFileError);
    expect((error as CorruptGenerationFileError).path).toBe(path);
    expect((error as CorruptGenerationFileError).message).toContain(`${path}: checksum mismatch`);
    expect(fileSystem.listFiles()).toEqual([path, temporaryPath]);
  });

  it('refuses an empty file', async () => {
    const { fileSystem, store } = setUp();
    await fileSystem.mkdir(directory);
    await (await fileSystem.open(path, 'create')).close();
    await expect(store.load()).rejects.toThrow(/too short/);
  });

  it('keeps the previous state when a save fails at any step', async () => {
    for (const operation of [
      'open',
      'truncate',
      'write',
      'datasync',
      'rename',
      'syncDirectory',
    ] as const) {
      const { fileSystem, store } = setUp();
      await store.save({ generation: 1, votedFor: 'athens' });
      fileSystem.injectFault({ operation, times: 1 });
      await expect(store.save({ generation: 2 })).rejects.toMatchObject({ code: 'EIO' });
      fileSystem.crash();
      const after = await store.load();
      // A rename that took effect before the failed directory sync may or may not survive.
      if (operation === 'syncDirectory') expect([1, 2]).toContain(after?.generation);
      else expect(after).toEqual({ generation: 1, votedFor: 'athens' });
    }
  });

  it('does not mask a write error with a close error', async () => {
    const { fileSystem, store } = setUp();
    fileSystem.injectFault({ operation: 'write', times: 1, code: 'ENOSPC' });
    fileSystem.injectFault({ operation: 'close', times: 2 });
    await expect(store.save({ generation: 1 })).rejects.toMatchObject({ code: 'ENOSPC' });
  });

  it('reports a read error while loading', async () => {
    const { fileSystem, store } = setUp();
    await store.save({ generation: 1 });
    fileSystem.injectFault({ operation: 'read', times: 1 });
    await expect(store.load()).rejects.toMatchObject({ code: 'EIO' });
  });

  it('joins paths without doubling slashes and rejects file names with a slash', () => {
    const fileSystem = new FaultFileSystem({ random: seededRandom(1) });
    expect(
      new FileGenerationStore({ fileSystem, directory: '/data/', fileName: 'term' }).path,
    ).toBe('/data/term');
    expect(new FileGenerationStore({ fileSystem, directory: '' }).path).toBe('generation');
    for (const fileName of ['', 'a/b']) {
      expect(() => new FileGenerationStore({ fileSystem, directory, fileName })).toThrow(
        RangeError,
      );
    }
  });
});
