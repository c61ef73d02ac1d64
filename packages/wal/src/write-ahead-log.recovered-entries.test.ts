import { describe, expect, it } from 'vitest';
import { WalCorruptionError } from './errors.js';
import type { FileSystem } from './file-system.js';
import { observedFileSystem } from './testing/observed-file-system.js';
import { SEGMENT_HEADER_BYTES, recordSize } from './record-format.js';
import { FaultFileSystem } from './testing/fault-file-system.js';
import { seededRandom } from './testing/seeded-random.js';
import { WriteAheadLog, type WalEntry, type WriteAheadLogOptions } from './write-ahead-log.js';

// `onRecoveredEntry`: the entries of the recovered log, handed over by the scan that checks them
// on open, so a caller reads the log once. The torn-tail and corruption rules are unchanged: the
// visitor only ever sees records before the first invalid one.

const DIR = '/data/wal';
const FIRST = `${DIR}/00000000000000000001.wal`;

/** Non-zero bytes, so no sector of a record reads as zeros by chance. */
function payload(index: number, length = 24): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => 1 + ((index + i) % 250));
}

function setup(options: WriteAheadLogOptions = {}) {
  const fs = new FaultFileSystem({ random: seededRandom(11) });
  const open = (extra: WriteAheadLogOptions = {}) =>
    WriteAheadLog.open(DIR, { fileSystem: fs, wallClock: { now: () => 0 }, ...options, ...extra });
  /** Opens with a visitor that copies what it is given. */
  const openVisiting = async (extra: WriteAheadLogOptions = {}) => {
    const visited: WalEntry[] = [];
    const log = await open({
      ...extra,
      onRecoveredEntry: (entry) => visited.push({ ...entry, payload: entry.payload.slice() }),
    });
    return { log, visited };
  };
  return { fs, open, openVisiting };
}

async function writeEntries(
  open: () => Promise<WriteAheadLog>,
  count: number,
  length = 24,
): Promise<void> {
  const log = await open();
  const batch = Array.from({ length: count }, (_, offset) => ({
    generation: 1 + Math.floor(offset / 7),
    type: offset % 3,
    payload: payload(offset + 1, length),
  }));
  await log.appendAll(batch);
  await log.close();
}

async function readAll(log: WriteAheadLog): Promise<WalEntry[]> {
  const all: WalEntry[] = [];
  for await (const entry of log.entries()) all.push(entry);
  return all;
}

/** Wraps `fs` to count the bytes read from `.wal` segment files. */
function countingSegmentReads(fs: FileSystem): { fs: FileSystem; bytesRead: () => number } {
  let bytes = 0;
  const wrapped = observedFileSystem(fs, (handle, path) => ({
    read: async (buffer, offset, length, position) => {
      const count = await handle.read(buffer, offset, length, position);
      if (path.endsWith('.wal')) bytes += count;
      return count;
    },
  }));
  return { fs: wrapped, bytesRead: () => bytes };
}

/** The segments and `.broken` copies with their bytes (what a repair would change). */
function logFiles(fs: FaultFileSystem): [string, Uint8Array | undefined][] {
  return fs
    .listFiles()
    .filter((path) => path.endsWith('.wal') || path.endsWith('.broken'))
    .map((path) => [path, fs.fileContent(path)]);
}

function segmentBytes(fs: FaultFileSystem): number {
  return fs
    .listFiles()
    .filter((path) => path.endsWith('.wal'))
    .reduce((total, path) => total + fs.fileContent(path)!.length, 0);
}

describe('WriteAheadLog.open with onRecoveredEntry', () => {
  it('hands over every entry of the log, in order, across segments', async () => {
    const options = { maxSegmentBytes: SEGMENT_HEADER_BYTES + 5 * recordSize(24) };
    const { open, openVisiting } = setup(options);
    await writeEntries(() => open(), 23);
    const { log, visited } = await openVisiting();
    expect(log.segments().length).toBeGreaterThan(3);
    expect(visited.map((entry) => entry.index)).toEqual(
      Array.from({ length: 23 }, (_, offset) => offset + 1),
    );
    expect(visited).toEqual(await readAll(log));
    await log.close();
  });

  it('hands over nothing for a new or empty log', async () => {
    const { openVisiting } = setup();
    const created = await openVisiting({ firstIndex: 5 });
    expect(created.visited).toEqual([]);
    await created.log.close();
    const reopened = await openVisiting({ firstIndex: 5 });
    expect(reopened.visited).toEqual([]);
    expect([reopened.log.firstIndex, reopened.log.lastIndex]).toEqual([5, 4]);
    await reopened.log.close();
  });

  it('reads each segment once: the entries cost no second read', async () => {
    const { fs, open } = setup();
    // 9 MiB in one segment: the scan reads 4 MiB chunks, so two records straddle a chunk's end
    // and are read again at the start of the next chunk, which is all the scan reads twice.
    const length = 1000;
    await writeEntries(() => open(), 9 * 1024, length);
    const size = segmentBytes(fs);
    const counting = countingSegmentReads(fs);
    let visitedBytes = 0;
    const log = await WriteAheadLog.open(DIR, {
      fileSystem: counting.fs,
      wallClock: { now: () => 0 },
      onRecoveredEntry: (entry) => (visitedBytes += entry.payload.length),
    });
    const read = counting.bytesRead();
    expect(visitedBytes).toBe(9 * 1024 * length);
    const straddles = Math.floor(size / (4 * 1024 * 1024));
    expect(read).toBeGreaterThanOrEqual(size);
    expect(read).toBeLessThanOrEqual(size + straddles * recordSize(length));
    await log.close();
  });

  it('never hands over a record cut off as a torn tail', async () => {
    const { fs, open, openVisiting } = setup();
    await writeEntries(open, 5);
    const size = fs.fileContent(FIRST)!.length;
    const handle = await fs.open(FIRST, 'readwrite');
    await handle.truncate(size - 10);
    await handle.datasync();
    await handle.close();
    const { log, visited } = await openVisiting();
    expect(log.recovery.tornTail).toBeDefined();
    expect(visited.map((entry) => entry.index)).toEqual([1, 2, 3, 4]);
    expect(visited).toEqual(await readAll(log));
    await log.close();
  });

  it('never hands over a record whose unwritten sector made it torn', async () => {
    const { fs, open, openVisiting } = setup({ sectorBytes: 64 });
    await writeEntries(open, 6);
    const last = SEGMENT_HEADER_BYTES + 5 * recordSize(24);
    const boundary = Math.ceil((last + 1) / 64) * 64;
    fs.overwrite(FIRST, boundary, new Uint8Array(last + recordSize(24) - boundary));
    const { log, visited } = await openVisiting();
    expect(log.recovery.tornTail?.offset).toBe(last);
    expect(visited.map((entry) => entry.index)).toEqual([1, 2, 3, 4, 5]);
    await log.close();
  });

  it('rejects open on damage found after entries were handed over, which the caller discards', async () => {
    const options = { maxSegmentBytes: SEGMENT_HEADER_BYTES + 3 * recordSize(24) };
    const { fs, open, openVisiting } = setup(options);
    await writeEntries(() => open(), 9);
    const second = `${DIR}/00000000000000000004.wal`;
    fs.flipBit(second, SEGMENT_HEADER_BYTES + 40, 1);
    const before = logFiles(fs);
    const indexes: number[] = [];
    const opening = open({ onRecoveredEntry: (entry) => indexes.push(entry.index) });
    await expect(opening).rejects.toBeInstanceOf(WalCorruptionError);
    // The first segment was scanned (and handed over) before the damage in the second was found:
    // the rejection is what tells the caller those entries are no log.
    expect(indexes).toEqual([1, 2, 3]);
    expect(logFiles(fs)).toEqual(before);
    await expect(openVisiting()).rejects.toBeInstanceOf(WalCorruptionError);
  });

  it('rejects open with the error the visitor throws, changing nothing and releasing the lock', async () => {
    const { fs, open, openVisiting } = setup();
    await writeEntries(open, 5);
    const size = fs.fileContent(FIRST)!.length;
    const handle = await fs.open(FIRST, 'readwrite');
    await handle.truncate(size - 10); // a torn tail the failed open must not repair
    await handle.datasync();
    await handle.close();
    const before = logFiles(fs);
    const refusal = new Error('visitor refused entry 3');
    const opening = open({
      onRecoveredEntry: (entry) => {
        if (entry.index === 3) throw refusal;
      },
    });
    await expect(opening).rejects.toBe(refusal);
    expect(logFiles(fs)).toEqual(before);
    const { log, visited } = await openVisiting();
    expect(visited.map((entry) => entry.index)).toEqual([1, 2, 3, 4]);
    await log.close();
  });
});
