import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SnapshotCorruptionError, SnapshotFiles } from './snapshot-files.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(`${tmpdir()}/kv-snap-`);
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('snapshot files', () => {
  it('saves durably, keeps only the newest, and loads it back', async () => {
    const files = new SnapshotFiles(`${root}/snap`);
    expect(await files.loadLatest()).toBeUndefined();
    await files.save({ index: 5, generation: 1, data: Uint8Array.of(1, 2, 3) });
    await files.save({ index: 12, generation: 2, data: Uint8Array.of(4, 5) });
    expect(await readdir(`${root}/snap`)).toEqual(['00000000000000000012.snap']);
    const loaded = await files.loadLatest();
    expect(loaded?.index).toBe(12);
    expect(loaded?.generation).toBe(2);
    expect([...(loaded?.data ?? [])]).toEqual([4, 5]);
  });

  it('refuses a damaged snapshot, naming the file', async () => {
    const files = new SnapshotFiles(`${root}/snap`);
    await files.save({ index: 7, generation: 1, data: Uint8Array.of(1, 2, 3, 4) });
    const path = `${root}/snap/00000000000000000007.snap`;
    const bytes = await readFile(path);
    bytes[bytes.length - 1]! ^= 0xff;
    await writeFile(path, bytes);
    await expect(files.loadLatest()).rejects.toThrow(SnapshotCorruptionError);
    await expect(files.loadLatest()).rejects.toThrow(/00000000000000000007\.snap/);
  });

  it('discards a leftover temporary file from an interrupted save', async () => {
    const files = new SnapshotFiles(`${root}/snap`);
    await files.save({ index: 3, generation: 1, data: Uint8Array.of(9) });
    await writeFile(`${root}/snap/00000000000000000009.snap.tmp`, 'partial');
    expect((await files.loadLatest())?.index).toBe(3);
    expect(await readdir(`${root}/snap`)).toEqual(['00000000000000000003.snap']);
  });
});
