import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkLmdbFileHeader } from './lmdb-file-header.js';
import { LMDB_STATE_FILE, openStateStore } from './open-state-store.js';

let directory: string;
let file: string;

beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'kv-lmdb-header-'));
  file = join(directory, LMDB_STATE_FILE);
});

afterEach(() => {
  rmSync(directory, { recursive: true, force: true });
});

/** The page size a real file names in its first meta page (where its second one starts). */
const pageSizeOf = (good: Buffer): number => good.readUInt32LE(0x30);

/** A real LMDB file with a little data, written and closed by the store itself. */
function realFile(): Buffer {
  const store = openStateStore('lmdb', directory);
  store.close();
  return readFileSync(file);
}

describe('checkLmdbFileHeader', () => {
  it('passes a file LMDB wrote, a missing file and an empty one', () => {
    checkLmdbFileHeader(file);
    realFile();
    checkLmdbFileHeader(file);
    writeFileSync(file, Buffer.alloc(0));
    checkLmdbFileHeader(file);
  });

  it.each([
    ['zeroed', (good: Buffer) => Buffer.alloc(good.length), /page 0 is not a meta page/],
    [
      'foreign',
      (good: Buffer) => Buffer.concat([Buffer.from('SQLite format 3\0'), good.subarray(16)]),
      /meta page 0 has another page number/,
    ],
    [
      'cut inside its first page',
      (good: Buffer) => good.subarray(0, 40),
      /meta page 0 is cut short/,
    ],
    [
      'cut after its first page',
      (good: Buffer) => good.subarray(0, pageSizeOf(good)),
      /shorter than its two meta pages/,
    ],
    [
      'damaged in its second meta page',
      (good: Buffer) => {
        const damaged = Buffer.from(good);
        damaged.fill(0xff, pageSizeOf(good) + 0x18, pageSizeOf(good) + 0x1c);
        return damaged;
      },
      /meta page 1 lacks LMDB's magic number/,
    ],
  ])('refuses a %s file, naming it and the runbook', (_, damage, why) => {
    writeFileSync(file, damage(realFile()));
    expect(() => checkLmdbFileHeader(file)).toThrow(why);
    expect(() => openStateStore('lmdb', directory)).toThrow(
      new RegExp(`^${file} is not a usable LMDB file: .*operations\\.md#replace-a-member`),
    );
  });

  it('leaves the file as it was', () => {
    const good = realFile();
    truncateSync(file, 100);
    expect(() => checkLmdbFileHeader(file)).toThrow();
    expect(readFileSync(file)).toEqual(good.subarray(0, 100));
  });
});
