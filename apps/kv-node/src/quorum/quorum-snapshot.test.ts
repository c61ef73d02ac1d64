import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { hybridTimestamp } from '@x/clocks';
import { afterEach, describe, expect, it } from 'vitest';
import {
  QuorumSnapshotCorruptionError,
  decodeQuorumSnapshot,
  encodeQuorumSnapshot,
  readQuorumSnapshot,
  writeQuorumSnapshot,
} from './quorum-snapshot.js';

const directories: string[] = [];
afterEach(async () => {
  await Promise.all(directories.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

const at = (wallMs: number, writer = 'athens') => ({
  timestamp: hybridTimestamp(wallMs, 0),
  writer,
});

const snapshot = {
  index: 4_294_967_301,
  horizon: at(7, 'cyrene'),
  entries: [
    { key: 'a', stored: { value: 'alpha', version: at(1) } },
    { key: '\u0000\u00ff', stored: { value: null, version: at(2, 'byzantium') } },
    { key: 'empty', stored: { value: '', version: at(3) } },
  ],
};

describe('quorum-mode snapshot', () => {
  it('round-trips entries, tombstones, the horizon and an index above 2^32', () => {
    expect(decodeQuorumSnapshot(encodeQuorumSnapshot(snapshot), 'x')).toEqual(snapshot);
    const bare = { index: 0, horizon: undefined, entries: [] };
    expect(decodeQuorumSnapshot(encodeQuorumSnapshot(bare), 'x')).toEqual(bare);
  });

  it('refuses a damaged file, naming it', () => {
    const bytes = encodeQuorumSnapshot(snapshot);
    for (const position of [0, 9, 20, bytes.length - 1]) {
      const damaged = Buffer.from(bytes);
      damaged[position] = (damaged[position] as number) ^ 0x40;
      expect(() => decodeQuorumSnapshot(damaged, '/data/quorum-log.snapshot')).toThrow(
        QuorumSnapshotCorruptionError,
      );
    }
    expect(() => decodeQuorumSnapshot(bytes.subarray(0, bytes.length - 3), 'f')).toThrow(
      /snapshot f is damaged/,
    );
  });

  it('writes atomically over the previous one and reads nothing where there is none', async () => {
    const dir = await mkdtemp(`${tmpdir()}/quorum-snapshot-`);
    directories.push(dir);
    const path = `${dir}/quorum-log.snapshot`;
    expect(await readQuorumSnapshot(path)).toBeUndefined();
    await writeFile(`${path}.tmp`, 'left by a crash');
    await writeQuorumSnapshot(path, { ...snapshot, index: 1 });
    await writeQuorumSnapshot(path, snapshot);
    expect(await readQuorumSnapshot(path)).toEqual(snapshot);
    expect((await readFile(path)).subarray(0, 8).toString()).toBe('KVQSNAP1');
  });
});
