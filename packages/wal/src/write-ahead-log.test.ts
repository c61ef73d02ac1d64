import { describe, expect, it } from 'vitest';
import { FaultFileSystem } from './testing/fault-file-system.js';
import { seededRandom } from './testing/seeded-random.js';
import { WalCorruptionError, WalFailedError, WalLockedError } from './errors.js';
import { SnapshotCleaner, TimeBasedCleaner } from './log-cleaner.js';
import { WriteAheadLog, type WriteAheadLogOptions } from './write-ahead-log.js';
import { SEGMENT_HEADER_BYTES, recordSize } from './record-format.js';
import type { FileSystem } from './file-system.js';
import { observedFileSystem } from './testing/observed-file-system.js';

const DIR = '/data/wal';
const payloadOf = (index: number, length = 8) => new Uint8Array(length).fill(index & 0xff);
const entry = (index: number, generation = 1, length = 8) => ({
  generation,
  type: index % 3,
  payload: payloadOf(index, length),
});

function setup(seed = 1, options: WriteAheadLogOptions = {}) {
  const fs = new FaultFileSystem({ random: seededRandom(seed) });
  let wallNow = 1_000_000;
  const wallClock = { now: () => wallNow };
  const open = (extra: WriteAheadLogOptions = {}) =>
    WriteAheadLog.open(DIR, { fileSystem: fs, wallClock, ...options, ...extra });
  return { fs, open, advanceWall: (ms: number) => (wallNow += ms) };
}

async function contents(log: WriteAheadLog) {
  const all = [];
  for await (const e of log.entries())
    all.push([e.index, e.generation, e.type, e.payload[0], e.payload.length]);
  return all;
}

describe('WriteAheadLog basics', () => {
  it('appends, reads back and survives reopen', async () => {
    const { open } = setup();
    const log = await open();
    expect([log.firstIndex, log.lastIndex]).toEqual([1, 0]);
    expect(await log.append(entry(1))).toBe(1);
    expect(await log.appendAll([entry(2), entry(3, 2)])).toBe(3);
    expect(log.lastIndex).toBe(3);
    expect(log.durableIndex).toBe(3);
    expect(log.generationAt(1)).toBe(1);
    expect(log.generationAt(3)).toBe(2);
    expect(log.lastGeneration).toBe(2);
    const read = await log.read(3);
    expect(read).toEqual({ index: 3, generation: 2, type: 0, payload: payloadOf(3) });
    await log.close();
    const again = await open();
    expect(await contents(again)).toEqual([
      [1, 1, 1, 1, 8],
      [2, 1, 2, 2, 8],
      [3, 2, 0, 3, 8],
    ]);
    expect(again.recovery.tornTail).toBeUndefined();
    await again.close();
  });

  it('batches concurrent appends into one fsync (group commit)', async () => {
    const { fs, open } = setup();
    const log = await open();
    const before = fs.stats.datasyncs;
    const indexes = await Promise.all(
      Array.from({ length: 50 }, (_, i) => log.append(entry(i + 1))),
    );
    expect(indexes).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(fs.stats.datasyncs - before).toBe(1);
    await log.close();
  });

  it('rejects bad entries without appending', async () => {
    const { open } = setup();
    const log = await open({ maxEntryBytes: 16 });
    await log.append(entry(1, 5));
    await expect(log.append(entry(2, 4))).rejects.toThrow(RangeError);
    await expect(
      log.append({ generation: 5, type: 70000, payload: new Uint8Array() }),
    ).rejects.toThrow(RangeError);
    await expect(log.append(entry(2, 5, 17))).rejects.toThrow(RangeError);
    await expect(log.append({ ...entry(2, 5), index: 7 })).rejects.toThrow(RangeError);
    await expect(log.appendAll([entry(2, 5), entry(3, 1)])).rejects.toThrow(RangeError);
    expect(log.lastIndex).toBe(1);
    await expect(log.read(2)).rejects.toThrow(RangeError);
    expect(() => log.generationAt(0)).toThrow(RangeError);
    await log.close();
  });

  it('starts an empty log at the configured first index', async () => {
    const { open } = setup();
    const log = await open({ firstIndex: 100 });
    expect([log.firstIndex, log.lastIndex]).toEqual([100, 99]);
    expect(await log.append(entry(100))).toBe(100);
    await log.close();
  });

  it('reads entries still being written and ranges limited by bytes', async () => {
    const { open } = setup();
    const log = await open();
    const pending = log.appendAll(Array.from({ length: 10 }, (_, i) => entry(i + 1, 1, 100)));
    expect((await log.read(10)).payload[0]).toBe(10);
    await pending;
    const limited = await log.readRange(2, 10, 250);
    expect(limited.map((e) => e.index)).toEqual([2, 3, 4]);
    expect((await log.readRange(5, 1000)).length).toBe(6);
    await log.close();
  });
});

describe('segments', () => {
  it('rolls at the size limit, names files by first index, and reopens', async () => {
    const { fs, open } = setup();
    const perRecord = recordSize(8);
    const log = await open({ maxSegmentBytes: SEGMENT_HEADER_BYTES + 4 * perRecord });
    for (let i = 1; i <= 10; i++) await log.append(entry(i));
    await log.appendAll(Array.from({ length: 10 }, (_, i) => entry(i + 11)));
    expect(log.segments().map((s) => [s.firstIndex, s.lastIndex])).toEqual([
      [1, 4],
      [5, 8],
      [9, 12],
      [13, 16],
      [17, 20],
    ]);
    expect(fs.listFiles().filter((p) => p.endsWith('.wal'))).toContain(
      `${DIR}/00000000000000000005.wal`,
    );
    await log.close();
    const again = await open({ maxSegmentBytes: SEGMENT_HEADER_BYTES + 4 * perRecord });
    expect((await contents(again)).map((e) => e[0])).toEqual(
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    await again.close();
  });

  it('truncates a suffix across segment boundaries', async () => {
    const { open } = setup();
    const options = { maxSegmentBytes: SEGMENT_HEADER_BYTES + 4 * recordSize(8) };
    const log = await open(options);
    for (let i = 1; i <= 14; i++) await log.append(entry(i));
    await log.truncateSuffix(6);
    expect(log.lastIndex).toBe(5);
    expect(log.segments().map((s) => [s.firstIndex, s.lastIndex])).toEqual([
      [1, 4],
      [5, 5],
    ]);
    expect(await log.append(entry(6, 2))).toBe(6);
    expect(log.generationAt(6)).toBe(2);
    await log.truncateSuffix(5);
    expect(log.segments().map((s) => [s.firstIndex, s.lastIndex])).toEqual([
      [1, 4],
      [5, 4],
    ]);
    await log.append(entry(5, 3));
    await log.close();
    const again = await open(options);
    expect(await contents(again)).toEqual([
      [1, 1, 1, 1, 8],
      [2, 1, 2, 2, 8],
      [3, 1, 0, 3, 8],
      [4, 1, 1, 4, 8],
      [5, 3, 2, 5, 8],
    ]);
    await again.truncateSuffix(1);
    expect([again.firstIndex, again.lastIndex]).toEqual([1, 0]);
    await again.close();
    const emptied = await open(options);
    expect([emptied.firstIndex, emptied.lastIndex]).toEqual([1, 0]);
    await emptied.close();
  });

  it('releases whole segments below the low-water mark, never the one holding it', async () => {
    const { open, advanceWall } = setup();
    const options = { maxSegmentBytes: SEGMENT_HEADER_BYTES + 4 * recordSize(8) };
    const log = await open(options);
    for (let i = 1; i <= 12; i++) {
      await log.append(entry(i));
      advanceWall(1000);
    }
    expect(await log.releaseBelow(6)).toBe(1);
    expect(log.firstIndex).toBe(5);
    await expect(log.read(4)).rejects.toThrow(RangeError);
    const cleaner = new SnapshotCleaner({ retainEntries: 2 });
    cleaner.snapshotTaken(11);
    expect(await log.clean(cleaner)).toBe(1); // mark 10: segment 5..8 goes, 9..12 holds the mark
    expect(log.firstIndex).toBe(9);
    expect(log.generationAt(9)).toBe(1);
    await log.close();
    const again = await open(options);
    expect([again.firstIndex, again.lastIndex]).toEqual([9, 12]);
    await again.close();
  });

  it('time-based cleaning deletes closed segments older than the retention', async () => {
    const { open, advanceWall } = setup();
    let wall = 0;
    const wallClock = { now: () => wall };
    const log = await open({
      maxSegmentBytes: SEGMENT_HEADER_BYTES + 2 * recordSize(8),
      wallClock,
    });
    for (let i = 1; i <= 7; i++) {
      await log.append(entry(i));
      wall += 1000;
    }
    advanceWall(0);
    // Segments start at 1, 3, 5, 7; they closed at wall 2000, 4000, 6000; now is 7000.
    expect(log.segments().map((s) => s.closedAtWallMs)).toEqual([2000, 4000, 6000, undefined]);
    expect(await log.clean(new TimeBasedCleaner({ retentionMs: 2500, wallClock }))).toBe(2);
    expect(log.firstIndex).toBe(5);
    expect(await log.clean(new TimeBasedCleaner({ retentionMs: 0, wallClock }))).toBe(1);
    expect(log.firstIndex).toBe(7);
    await log.close();
  });
});

describe('recovery', () => {
  it('cuts off a torn tail and keeps a .broken copy', async () => {
    const { fs, open } = setup();
    const log = await open();
    for (let i = 1; i <= 5; i++) await log.append(entry(i, 1, 100));
    await log.close();
    const path = `${DIR}/00000000000000000001.wal`;
    const size = fs.fileContent(path)!.length;
    // The last record never reached its sector (the file size did): it reads as zeros.
    fs.overwrite(path, size - recordSize(100), new Uint8Array(recordSize(100)));
    const again = await open();
    expect(again.lastIndex).toBe(4);
    expect(again.recovery.tornTail).toMatchObject({ file: path, offset: size - recordSize(100) });
    expect(fs.fileContent(again.recovery.tornTail!.brokenCopy)!.length).toBe(size);
    expect(await again.append(entry(5, 1, 100))).toBe(5);
    await again.close();
    const third = await open();
    expect(third.lastIndex).toBe(5);
    expect(third.recovery.tornTail).toBeUndefined();
    await third.close();
  });

  it('refuses to open after a bit flip mid-log, naming file and offset', async () => {
    const { fs, open } = setup();
    const log = await open();
    for (let i = 1; i <= 10; i++) await log.append(entry(i));
    await log.close();
    const path = `${DIR}/00000000000000000001.wal`;
    const offset = SEGMENT_HEADER_BYTES + 4 * recordSize(8);
    fs.flipBit(path, offset + 36, 2);
    const error = await open().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WalCorruptionError);
    expect(error).toMatchObject({ file: path, offset });
    expect((error as Error).message).toContain(path);
    // Refused without changing anything, and the lock was released.
    expect(fs.listFiles().some((p) => p.endsWith('.broken'))).toBe(false);
    await expect(open()).rejects.toThrow(WalCorruptionError);
  });

  it('refuses to open after a bit flip in an older segment', async () => {
    const { fs, open } = setup();
    const options = { maxSegmentBytes: SEGMENT_HEADER_BYTES + 3 * recordSize(8) };
    const log = await open(options);
    for (let i = 1; i <= 9; i++) await log.append(entry(i));
    await log.close();
    // The last record of the first segment: only being in an older segment makes it corruption.
    const path = `${DIR}/00000000000000000001.wal`;
    const offset = SEGMENT_HEADER_BYTES + 2 * recordSize(8);
    fs.flipBit(path, offset + 33);
    await expect(open(options)).rejects.toMatchObject({
      name: 'WalCorruptionError',
      file: path,
      offset,
    });
  });

  it('refuses a gap between segments', async () => {
    const { fs, open } = setup();
    const options = { maxSegmentBytes: SEGMENT_HEADER_BYTES + 2 * recordSize(8) };
    const log = await open(options);
    for (let i = 1; i <= 6; i++) await log.append(entry(i));
    await log.close();
    await fs.unlink(`${DIR}/00000000000000000003.wal`);
    await expect(open(options)).rejects.toThrow(/segment starts at index 5/);
  });
});

describe('fail-stop and locking', () => {
  it('an fsync EIO fails the batch and every later append', async () => {
    const { fs, open } = setup();
    const log = await open();
    await log.append(entry(1));
    fs.injectFault({ operation: 'datasync', path: '.wal', times: 1 });
    const failing = [log.append(entry(2)), log.append(entry(3))];
    for (const p of failing) await expect(p).rejects.toBeInstanceOf(WalFailedError);
    expect(log.failure?.cause).toMatchObject({ code: 'EIO' });
    // No retry-and-continue, even though the next fsync would succeed.
    await expect(log.append(entry(2))).rejects.toBeInstanceOf(WalFailedError);
    await expect(log.truncateSuffix(1)).rejects.toBeInstanceOf(WalFailedError);
    await log.close();
    const again = await open();
    expect(again.lastIndex).toBeGreaterThanOrEqual(1);
    await again.close();
  });

  it('ENOSPC rejects the batch and leaves no partial record after reopen', async () => {
    const { fs, open } = setup();
    const log = await open();
    await log.append(entry(1, 1, 100));
    fs.limitSpace(50);
    await expect(log.append(entry(2, 1, 100))).rejects.toMatchObject({
      name: 'WalFailedError',
      cause: { code: 'ENOSPC' },
    });
    await log.close();
    fs.clearFaults();
    const again = await open();
    expect(again.lastIndex).toBe(1);
    expect(again.recovery.tornTail?.discardedBytes).toBe(50);
    expect(await again.append(entry(2, 1, 100))).toBe(2);
    expect((await again.read(2)).payload).toEqual(payloadOf(2, 100));
    await again.close();
  });

  it('a write EIO fails the log', async () => {
    const { fs, open } = setup();
    const log = await open();
    fs.injectFault({ operation: 'write', times: 1 });
    await expect(log.append(entry(1))).rejects.toBeInstanceOf(WalFailedError);
    expect(log.failure).toBeInstanceOf(WalFailedError);
    await log.close();
  });

  it('rejects a second opener of the same directory at once', async () => {
    const { open } = setup();
    const log = await open();
    await expect(open()).rejects.toBeInstanceOf(WalLockedError);
    await log.close();
    const again = await open();
    await again.close();
  });

  it('a power loss can lose appends acknowledged in interval mode, never in group mode', async () => {
    // What an asynchronous log trades: an append resolves before its fdatasync, so a crash in the
    // interval drops whatever the disk had not flushed. Twenty seeded crashes of each mode.
    const acknowledgedThenLost = async (durability: 'group' | 'interval', seed: number) => {
      const { fs, open } = setup(seed);
      const log = await open({
        durability,
        syncIntervalMs: 50,
        timers: { setTimeout: () => undefined, clearTimeout: () => undefined },
        clock: { now: () => 0 },
      });
      for (let index = 1; index <= 5; index++) await log.append(entry(index));
      fs.crash();
      const recovered = await open();
      const lost = 5 - recovered.lastIndex;
      await recovered.close();
      return lost;
    };
    const lostInterval: number[] = [];
    const lostGroup: number[] = [];
    for (let seed = 1; seed <= 20; seed++) {
      lostInterval.push(await acknowledgedThenLost('interval', seed));
      lostGroup.push(await acknowledgedThenLost('group', seed));
    }
    expect(lostGroup.every((lost) => lost === 0)).toBe(true);
    expect(lostInterval.some((lost) => lost > 0)).toBe(true);
  });

  it('interval mode resolves before fsync and syncs within the interval', async () => {
    const { fs, open } = setup();
    const callbacks: (() => void)[] = [];
    const timers = {
      setTimeout: (callback: () => void) => callbacks.push(callback),
      clearTimeout: () => undefined,
    };
    const log = await open({
      durability: 'interval',
      syncIntervalMs: 50,
      timers,
      clock: { now: () => 0 },
    });
    const syncs = fs.stats.datasyncs;
    await log.append(entry(1));
    await log.append(entry(2));
    expect(fs.stats.datasyncs).toBe(syncs);
    expect(log.durableIndex).toBe(0);
    expect(callbacks).toHaveLength(1);
    callbacks[0]!();
    await log.read(2); // waits for the queued sync to be processed
    expect(fs.stats.datasyncs).toBe(syncs + 1);
    expect(log.durableIndex).toBe(2);
    await log.close();
  });
});

describe('ordering of concurrent operations', () => {
  it('applies appends, truncations and reads in call order', async () => {
    const { open } = setup();
    const log = await open();
    const first = log.appendAll([entry(1), entry(2), entry(3)]);
    const truncated = log.truncateSuffix(2);
    const second = log.append(entry(20, 2));
    expect(log.lastIndex).toBe(2);
    const read = log.read(2);
    await Promise.all([first, truncated, second]);
    expect((await read).payload[0]).toBe(20);
    expect(log.generationAt(2)).toBe(2);
    await log.close();
    const again = await open();
    expect((await contents(again)).map((e) => [e[0], e[1], e[3]])).toEqual([
      [1, 1, 1],
      [2, 2, 20],
    ]);
    await again.close();
  });

  it('rejects use after close', async () => {
    const { open } = setup();
    const log = await open();
    await log.close();
    await expect(log.append(entry(1))).rejects.toThrow('closed');
    await log.close();
  });
});

describe('options', () => {
  it('rejects impossible settings before touching the disk', async () => {
    const { fs, open } = setup();
    await expect(open({ maxSegmentBytes: 2 ** 32 })).rejects.toThrow(RangeError);
    await expect(open({ maxSegmentBytes: 8 })).rejects.toThrow(RangeError);
    await expect(open({ durability: 'sometimes' as 'group' })).rejects.toThrow(RangeError);
    await expect(open({ syncIntervalMs: -1 })).rejects.toThrow(RangeError);
    expect(fs.listFiles()).toEqual([]);
  });
});

/** `inner` with its handles' `write` and `writeOnLoop` calls counted. */
function countingWrites(inner: FileSystem) {
  const counts = { write: 0, writeOnLoop: 0 };
  const fileSystem = observedFileSystem(inner, (handle) => ({
    write: (buffer, offset, length, position) => {
      counts.write++;
      return handle.write(buffer, offset, length, position);
    },
    ...(handle.writeOnLoop && {
      writeOnLoop: (buffer: Uint8Array, offset: number, length: number, position: number) => {
        counts.writeOnLoop++;
        handle.writeOnLoop!(buffer, offset, length, position);
      },
    }),
  }));
  return { fileSystem, counts };
}

describe('writes on the loop', () => {
  it('writes a small batch with writeOnLoop and a large one with write', async () => {
    const disk = new FaultFileSystem({ random: seededRandom(4) });
    const { fileSystem, counts } = countingWrites(disk);
    const open = () => WriteAheadLog.open(DIR, { fileSystem, wallClock: { now: () => 0 } });
    const log = await open();
    await log.append(entry(1));
    Object.assign(counts, { write: 0, writeOnLoop: 0 });
    await log.append(entry(2));
    await log.append(entry(3));
    expect(counts).toEqual({ write: 0, writeOnLoop: 2 });
    await log.append(entry(4, 1, 300 * 1024));
    expect(counts).toEqual({ write: 1, writeOnLoop: 2 });
    expect(log.durableIndex).toBe(4);
    disk.crash();
    const again = await open();
    expect((await contents(again)).map((e) => [e[0], e[3], e[4]])).toEqual([
      [1, 1, 8],
      [2, 2, 8],
      [3, 3, 8],
      [4, 4, 300 * 1024],
    ]);
    await again.close();
  });

  it('writes through write when the handle models disk time', async () => {
    const operations: string[] = [];
    const disk = new FaultFileSystem({
      random: seededRandom(4),
      delay: (operation) => void operations.push(operation),
    });
    const { fileSystem, counts } = countingWrites(disk);
    const log = await WriteAheadLog.open(DIR, { fileSystem, wallClock: { now: () => 0 } });
    await log.append(entry(1));
    counts.write = 0;
    operations.length = 0;
    await log.append(entry(2));
    await log.append(entry(3));
    expect(counts).toEqual({ write: 2, writeOnLoop: 0 });
    expect(operations.filter((operation) => operation === 'write')).toHaveLength(2);
    await log.close();
  });

  it('an ENOSPC on the loop fails the log like one from a worker', async () => {
    const { fs, open } = setup();
    const log = await open();
    await log.append(entry(1));
    fs.limitSpace(10);
    await expect(log.append(entry(2))).rejects.toMatchObject({
      name: 'WalFailedError',
      cause: { code: 'ENOSPC' },
    });
    await expect(log.append(entry(3))).rejects.toBeInstanceOf(WalFailedError);
    await log.close();
  });
});

describe('crash while rolling to a new segment', () => {
  it('recovers to the previous segment and rolls again', async () => {
    for (const crashAt of ['rename', 'syncDirectory', 'datasync'] as const) {
      let armed = false;
      const fs = new FaultFileSystem({
        random: seededRandom(3),
        delay: (operation) => {
          if (armed && operation === crashAt) {
            armed = false;
            fs.crash();
          }
        },
      });
      const options = {
        maxSegmentBytes: SEGMENT_HEADER_BYTES + 2 * recordSize(8),
        wallClock: { now: () => 0 },
      };
      const open = () => WriteAheadLog.open(DIR, { fileSystem: fs.processView(), ...options });
      const log = await open();
      await log.append(entry(1));
      await log.append(entry(2));
      armed = true;
      await expect(log.append(entry(3))).rejects.toBeInstanceOf(WalFailedError);
      const again = await open();
      expect(again.lastIndex).toBeGreaterThanOrEqual(2);
      expect(again.lastIndex).toBeLessThanOrEqual(3);
      const next = again.lastIndex + 1;
      expect(await again.appendAll([entry(next), entry(next + 1), entry(next + 2)])).toBe(next + 2);
      await again.close();
      const third = await open();
      expect((await contents(third)).map((e) => e[0])).toEqual(
        Array.from({ length: next + 2 }, (_, i) => i + 1),
      );
      expect(fs.listFiles().filter((p) => p.endsWith('.spare'))).toEqual([`${DIR}/next.spare`]);
      await third.close();
    }
  });
});

describe('reads', () => {
  it('verify checksums and name the damaged file', async () => {
    const { fs, open } = setup();
    const log = await open();
    await log.appendAll([entry(1), entry(2)]);
    fs.flipBit(`${DIR}/00000000000000000001.wal`, SEGMENT_HEADER_BYTES + recordSize(8) + 33);
    await expect(log.read(2)).rejects.toMatchObject({
      name: 'WalCorruptionError',
      offset: SEGMENT_HEADER_BYTES + recordSize(8),
    });
    expect((await log.read(1)).payload).toEqual(payloadOf(1));
    await log.close();
  });
});
