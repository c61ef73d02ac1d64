import { WalClosedError, WalCorruptionError, WalFailedError, WalLockedError } from './errors.js';
import type { DirectoryLock, FileHandle, FileSystem } from './file-system.js';
import type { LogCleaner, SegmentInfo } from './log-cleaner.js';
import { nodeClock, nodeTimers, nodeWallClock } from './node-clock.js';
import { SECTOR_BYTES } from './torn-write.js';
import { NodeFileSystem } from './node-file-system.js';
import type { Clock, Logger, Timers, WallClock } from './ports.js';
import { silentLogger } from './ports.js';
import {
  MAX_ENTRY_TYPE,
  RECORD_HEADER_BYTES,
  SEGMENT_HEADER_BYTES,
  decodeRecord,
  emptyRecordHeader,
  encodeRecord,
  encodeSegmentHeader,
  recordSize,
} from './record-format.js';
import { Segment } from './segment.js';
import { SPARE_SEGMENT_NAME } from './segment-name.js';
import { recover, type RecoveryReport } from './recover-log.js';

/**
 * When an append counts as done:
 * - `group` (default): after fdatasync; appends arriving while one fsync runs share the next one.
 * - `interval`: after the write reaches the OS; an fdatasync follows within `syncIntervalMs`, so a
 *   power loss can lose up to that much acknowledged work (a process crash loses nothing).
 * - `none`: UNSAFE, for tests only: never fsyncs except on segment roll and close.
 */
export type DurabilityMode = 'group' | 'interval' | 'none';

/** Options of `WriteAheadLog.open`. Every port has a Node default. */
export interface WriteAheadLogOptions {
  /** Where files live. Default: the real disk (`NodeFileSystem`). */
  fileSystem?: FileSystem;
  /** Default `group`. */
  durability?: DurabilityMode;
  /** In `interval` mode, the longest time in ms between a write and its fdatasync. Default 100. */
  syncIntervalMs?: number;
  /** A segment rolls once the next record would take it past this many bytes. Default 64 MiB. */
  maxSegmentBytes?: number;
  /** Largest payload accepted, in bytes. Default 16 MiB. */
  maxEntryBytes?: number;
  /** Index of the first entry of a new, empty log. Default 1. */
  firstIndex?: number;
  /**
   * The disk's atomic write unit in bytes, a power of two from 16 to 65536: on open, an invalid
   * last record is a torn write only if the file ends inside it or one of these sectors' share
   * of it is all zeros; otherwise it is corruption. Default 512 (the smallest sector size).
   */
  sectorBytes?: number;
  /** Monotonic clock for `interval` mode. Default `performance.now()`. */
  clock?: Clock;
  /** Timers for `interval` mode. Default Node's. */
  timers?: Timers;
  /** Wall clock that dates segments for time-based cleaning. Default `Date.now()`. */
  wallClock?: WallClock;
  /** Default: silent. */
  logger?: Logger;
  /**
   * Called during `open` with every entry of the recovered log, in index order, as the recovery
   * scan checks it: a caller that rebuilds state from the log gets the entries from the read that
   * recovery makes anyway, instead of reading the log a second time with `entries()`.
   *
   * `entry.payload` is a view into the scan's read buffer, valid only during the call (the next
   * read overwrites it): copy the bytes you keep, and copy only those, so that no large read
   * buffer stays alive.
   *
   * Only entries the scan accepted are passed, never one after the first invalid record, so no
   * entry given here is later cut off as part of a torn tail. Once `open` resolves, the entries
   * given are exactly `firstIndex..lastIndex` of the opened log. If `open` rejects (corruption
   * found further on, a failed repair, or this callback threw), the entries given do not form a
   * log: discard them. Errors thrown here reject `open` (after closing what it opened).
   */
  onRecoveredEntry?: (entry: WalEntry) => void;
}

/** An entry as stored: the log assigns `index`. */
export interface WalEntry {
  /** Position in the log, consecutive from the first index. */
  readonly index: number;
  /** Generation (epoch, term) the entry was created in; never decreases along the log. */
  readonly generation: number;
  /** Caller-defined kind of entry, an unsigned 16-bit integer. */
  readonly type: number;
  /** The caller's bytes. */
  readonly payload: Uint8Array;
}

/** An entry to append. */
export interface NewEntry {
  /** Generation of the entry: an integer at least the generation of the last entry. */
  readonly generation: number;
  /** Caller-defined kind, 0-65535. Default 0. */
  readonly type?: number;
  /** The bytes to store; copied before `append` returns, so the caller may reuse the buffer. */
  readonly payload: Uint8Array;
  /** If given, the index the caller expects this entry to get; a mismatch is a `RangeError`. */
  readonly index?: number;
}

interface Batch {
  readonly kind: 'batch';
  seq: number;
  readonly segment: Segment;
  readonly startOffset: number;
  buffer: Uint8Array;
  view: DataView;
  length: number;
  lastIndex: number;
  readonly epoch: number;
  readonly done: Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

type Operation =
  | Batch
  | {
      readonly kind: 'truncate';
      seq: number;
      readonly segment: Segment;
      readonly offset: number;
      readonly deleted: Segment[];
      readonly resolve: () => void;
      readonly reject: (error: unknown) => void;
    }
  | {
      readonly kind: 'release';
      seq: number;
      readonly deleted: Segment[];
      readonly resolve: () => void;
      readonly reject: (error: unknown) => void;
    }
  | {
      readonly kind: 'sync';
      seq: number;
      readonly resolve: () => void;
      readonly reject: (error: unknown) => void;
    };

interface SyncInFlight {
  readonly batch: Batch;
  done: boolean;
  settled: Promise<void>;
}

const MIB = 1024 * 1024;
/**
 * fdatasyncs allowed in flight at once. 1 is classic group commit: appends arriving while a sync
 * runs share the next one. Larger values pipeline syncs (each still acknowledged in order); on
 * the benchmark machine that showed no clear gain, so the simpler behaviour is the default.
 */
const MAX_SYNCS_IN_FLIGHT = 1;
/**
 * Largest batch written with the handle's `writeOnLoop` (when it has one). A larger write stays on
 * a worker: copying it, and any wait for the kernel to write back dirty pages, would stall the
 * event loop for longer than the worker round trip it saves.
 */
const LOOP_WRITE_MAX_BYTES = 256 * 1024;
const INITIAL_BATCH_BYTES = 64 * 1024;
const POOLED_BATCH_BYTES = 8 * MIB;

function deferred(): {
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
} {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function checkIndex(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new RangeError(`${name} must be a non-negative safe integer, got ${value}`);
}

/**
 * A durable, segmented write-ahead log (DESIGN.md §6). Appends get consecutive indexes at call
 * time and resolve once durable (per the `DurabilityMode`); many concurrent appends share one
 * fdatasync (group commit). Open with `WriteAheadLog.open`.
 *
 * All mutations take effect in memory in call order (so `lastIndex` is up to date at once) and
 * reach the disk in the same order. Any write or fsync error fails the log stop: see
 * `WalFailedError`.
 */
export class WriteAheadLog {
  /** What recovery found and repaired on open. */
  readonly recovery: RecoveryReport;

  private readonly segmentList: Segment[];
  private readonly runStarts: number[] = [];
  private readonly runGenerations: number[] = [];
  private readonly queue: Operation[] = [];
  private openBatch: Batch | undefined;
  private draining = false;
  private seq = 0;
  private completedSeq = 0;
  private readWaiters: { seq: number; resolve: () => void; reject: (error: unknown) => void }[] =
    [];
  private epoch = 0;
  private durable: number;
  private readable: number;
  private failed: WalFailedError | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;
  private spare: Promise<FileHandle> | undefined;
  private readonly pool: Uint8Array[] = [];
  private unsyncedHandle: FileHandle | undefined;
  private readonly syncsInFlight: SyncInFlight[] = [];
  private current: Operation | undefined;
  private syncTimer: unknown;
  private lastSyncAt: number;

  private constructor(
    private readonly directory: string,
    private readonly fs: FileSystem,
    private readonly lock: DirectoryLock,
    private readonly settings: Settings,
    segments: Segment[],
    generations: [number[], number[]],
    recovery: RecoveryReport,
  ) {
    this.segmentList = segments;
    [this.runStarts, this.runGenerations] = generations;
    this.recovery = recovery;
    this.durable = this.lastIndex;
    this.readable = this.lastIndex;
    this.lastSyncAt = settings.clock.now();
  }

  /**
   * Opens (creating if needed) the log in `directory`, locking it and recovering: a torn write at
   * the end of the last segment is cut off after keeping a `.broken` copy.
   * @throws WalLockedError if another log holds the directory.
   * @throws WalCorruptionError if synced data is damaged (nothing is changed on disk then).
   */
  static async open(directory: string, options: WriteAheadLogOptions = {}): Promise<WriteAheadLog> {
    const fs = options.fileSystem ?? new NodeFileSystem();
    const settings = {
      durability: options.durability ?? 'group',
      syncIntervalMs: options.syncIntervalMs ?? 100,
      maxSegmentBytes: options.maxSegmentBytes ?? 64 * MIB,
      maxEntryBytes: options.maxEntryBytes ?? 16 * MIB,
      clock: options.clock ?? nodeClock,
      timers: options.timers ?? nodeTimers,
      wallClock: options.wallClock ?? nodeWallClock,
      logger: options.logger ?? silentLogger,
      sectorBytes: options.sectorBytes ?? SECTOR_BYTES,
    };
    validateSettings(settings);
    await fs.mkdir(directory);
    let lock: DirectoryLock;
    try {
      lock = await fs.lockDirectory(directory);
    } catch (error) {
      if ((error as { code?: unknown }).code === 'EBUSY')
        throw new WalLockedError(directory, error);
      throw error;
    }
    const opened: Segment[] = [];
    try {
      const recovered = await recover(
        directory,
        fs,
        settings,
        options.firstIndex ?? 1,
        opened,
        options.onRecoveredEntry,
      );
      const log = new WriteAheadLog(
        directory,
        fs,
        lock,
        settings,
        recovered.segments,
        recovered.generations,
        recovered.report,
      );
      log.prepareSpare();
      return log;
    } catch (error) {
      await Promise.allSettled(opened.map((segment) => segment.retire()));
      await lock.release();
      throw error;
    }
  }

  /** Index of the first entry kept; `lastIndex + 1` when the log is empty. */
  get firstIndex(): number {
    return this.segmentList[0]!.firstIndex;
  }

  /** Index of the last entry appended (durable or not); `firstIndex - 1` when empty. */
  get lastIndex(): number {
    return this.segmentList.at(-1)!.lastIndex;
  }

  /** Highest index known durable: every entry up to it survives a crash. */
  get durableIndex(): number {
    return Math.min(this.durable, this.lastIndex);
  }

  /** Generation of the last entry, 0 when empty. */
  get lastGeneration(): number {
    return this.runGenerations.at(-1) ?? 0;
  }

  /** The failure that stopped the log, if it has failed. */
  get failure(): WalFailedError | undefined {
    return this.failed;
  }

  /**
   * Generation of the entry at `index`, from memory.
   * @throws RangeError if `index` is outside `[firstIndex, lastIndex]`.
   */
  generationAt(index: number): number {
    this.checkRange(index);
    let low = 0;
    let high = this.runStarts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >>> 1;
      if (this.runStarts[middle]! <= index) low = middle;
      else high = middle - 1;
    }
    return this.runGenerations[low]!;
  }

  /**
   * Appends one entry; resolves with its index once durable (per the durability mode).
   * Rejects with `RangeError` for a bad entry, `WalFailedError` once failed, `WalClosedError` after close.
   */
  append(entry: NewEntry): Promise<number> {
    try {
      this.checkWritable();
      const index = this.encode(entry);
      return this.openBatch!.done.then(() => index);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /**
   * Appends entries in order as one unit of work; resolves with the index of the last once all are
   * durable. An invalid entry rejects the call before anything is appended.
   */
  appendAll(entries: readonly NewEntry[]): Promise<number> {
    try {
      this.checkWritable();
      let expected = this.lastIndex + 1;
      let generation = this.lastGeneration;
      for (const entry of entries) {
        this.validate(entry, expected++, generation);
        generation = entry.generation;
      }
      if (entries.length === 0) return Promise.resolve(this.lastIndex);
      let index = 0;
      for (const entry of entries) index = this.encode(entry);
      return this.openBatch!.done.then(() => index);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /**
   * Reads the entry at `index`, verifying its checksum. Waits for a pending write of it.
   * @throws RangeError if the index is not in the log; WalCorruptionError if the record is damaged.
   */
  async read(index: number): Promise<WalEntry> {
    const [entry] = await this.readRange(index, index);
    return entry!;
  }

  /**
   * Reads entries `from..to` inclusive (clamped to `lastIndex`) with one read per segment,
   * stopping early once `maxBytes` of payload is reached (at least one entry is returned).
   * @throws RangeError if `from` is not in the log.
   */
  async readRange(
    from: number,
    to: number,
    maxBytes = Number.POSITIVE_INFINITY,
  ): Promise<WalEntry[]> {
    this.checkUsable();
    this.checkRange(from);
    if (Math.min(to, this.lastIndex) > this.readable) await this.waitUntilWritten(this.seq);
    this.checkRange(from);
    const last = Math.min(to, this.lastIndex);
    const entries: WalEntry[] = [];
    const record = emptyRecordHeader();
    let bytes = 0;
    let index = from;
    while (index <= last && (entries.length === 0 || bytes < maxBytes)) {
      const segment = this.segmentFor(index);
      const segmentLast = Math.min(last, segment.lastIndex);
      const start = segment.startOf(index);
      let end = segment.endOf(segmentLast);
      if (end - start > maxBytes && maxBytes !== Number.POSITIVE_INFINITY) {
        // Read only about as much as the byte budget allows (whole records).
        let stop = index;
        while (stop < segmentLast && segment.endOf(stop) - start < maxBytes) stop++;
        end = segment.endOf(stop);
      }
      const buffer = new Uint8Array(end - start);
      const view = new DataView(buffer.buffer);
      const handle = segment.beginRead();
      try {
        if (!handle) throw new RangeError(`entry ${index} is no longer in the log`);
        const count = await handle.read(buffer, 0, buffer.length, start);
        let at = 0;
        while (at < count && (entries.length === 0 || bytes < maxBytes) && index <= segmentLast) {
          if (!decodeRecord(buffer, view, at, count, record) || record.index !== index) {
            throw new WalCorruptionError(
              segment.path,
              start + at,
              `unreadable record for index ${index}`,
            );
          }
          const payload = buffer.subarray(
            at + RECORD_HEADER_BYTES,
            at + RECORD_HEADER_BYTES + record.payloadLength,
          );
          entries.push({ index, generation: record.generation, type: record.type, payload });
          bytes += record.payloadLength;
          at = record.end;
          index++;
        }
      } finally {
        await segment.endRead();
      }
    }
    return entries;
  }

  /** Iterates entries from `from` (default `firstIndex`) to `to` (default the last at each step), reading in chunks. */
  async *entries(
    from = this.firstIndex,
    to = Number.POSITIVE_INFINITY,
  ): AsyncGenerator<WalEntry, void, undefined> {
    let next = from;
    while (next <= Math.min(to, this.lastIndex)) {
      const chunk = await this.readRange(next, to, MIB);
      for (const entry of chunk) yield entry;
      next = chunk.at(-1)!.index + 1;
    }
  }

  /**
   * Deletes entries from `from` on (a follower discarding a conflicting suffix). Takes effect in
   * memory at once; resolves when the truncation is durable, before any later append is written.
   * @throws RangeError if `from` is below `firstIndex` or above `lastIndex + 1`.
   */
  truncateSuffix(from: number): Promise<void> {
    try {
      this.checkWritable();
      checkIndex('from', from);
      if (from < this.firstIndex || from > this.lastIndex + 1) {
        throw new RangeError(
          `cannot truncate from ${from}: log holds ${this.firstIndex}..${this.lastIndex}`,
        );
      }
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    if (from === this.lastIndex + 1) return Promise.resolve();
    let keep = this.segmentList.length;
    while (keep > 1 && this.segmentList[keep - 1]!.firstIndex > from) keep--;
    const deleted = this.segmentList.splice(keep);
    const segment = this.segmentList.at(-1)!;
    const offset = segment.truncateFrom(from);
    while (this.runStarts.length > 1 && this.runStarts.at(-1)! >= from) {
      this.runStarts.pop();
      this.runGenerations.pop();
    }
    if (this.runStarts.length === 1 && this.runStarts[0]! >= from) {
      this.runStarts.pop();
      this.runGenerations.pop();
    }
    this.epoch++;
    this.durable = Math.min(this.durable, from - 1);
    this.readable = Math.min(this.readable, from - 1);
    this.openBatch = undefined;
    const { promise, resolve, reject } = deferred();
    this.enqueue({ kind: 'truncate', seq: 0, segment, offset, deleted, resolve, reject });
    return promise;
  }

  /**
   * Deletes every whole segment whose entries are all below `lowWaterMark`, never the segment
   * holding it nor the last segment. Resolves with the number of segments deleted, once durable.
   */
  releaseBelow(lowWaterMark: number): Promise<number> {
    try {
      this.checkWritable();
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    let count = 0;
    while (
      count < this.segmentList.length - 1 &&
      this.segmentList[count + 1]!.firstIndex <= lowWaterMark
    )
      count++;
    if (count === 0) return Promise.resolve(0);
    const deleted = this.segmentList.splice(0, count);
    const first = this.firstIndex;
    let drop = 0;
    while (drop + 1 < this.runStarts.length && this.runStarts[drop + 1]! <= first) drop++;
    this.runStarts.splice(0, drop);
    this.runGenerations.splice(0, drop);
    const { promise, resolve, reject } = deferred();
    this.enqueue({ kind: 'release', seq: 0, deleted, resolve, reject });
    return promise.then(() => count);
  }

  /** Asks `cleaner` for a low-water mark and releases the segments below it; resolves with the count deleted. */
  clean(cleaner: LogCleaner): Promise<number> {
    return this.releaseBelow(cleaner.lowWaterMark(this.segments()));
  }

  /** The segments, oldest first. */
  segments(): SegmentInfo[] {
    return this.segmentList.map((segment, i) => ({
      fileName: segment.fileName,
      firstIndex: segment.firstIndex,
      lastIndex: segment.lastIndex,
      bytes: segment.endOffset,
      startedAtWallMs: segment.startedAtWallMs,
      closedAtWallMs: this.segmentList[i + 1]?.startedAtWallMs,
    }));
  }

  /** Makes everything appended so far durable (useful in `interval` and `none` modes). */
  sync(): Promise<void> {
    try {
      this.checkWritable();
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    const { promise, resolve, reject } = deferred();
    this.enqueue({ kind: 'sync', seq: 0, resolve, reject });
    return promise;
  }

  /**
   * Waits for pending work, makes it durable, closes files and releases the directory lock.
   * Idempotent. After a failure it just closes.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    if (!this.failed) {
      const { promise, resolve, reject } = deferred();
      this.enqueue({ kind: 'sync', seq: 0, resolve, reject });
      await promise.catch(() => undefined);
    }
    this.closed = true;
    if (this.syncTimer !== undefined) this.settings.timers.clearTimeout(this.syncTimer);
    const spare = this.spare;
    this.spare = undefined;
    await Promise.allSettled([
      ...this.segmentList.map((segment) => segment.retire()),
      spare?.then((handle) => handle.close()),
    ]);
    await this.lock.release();
  }

  private checkUsable(): void {
    if (this.closed || this.closing) throw new WalClosedError();
    if (this.failed) throw this.failed;
  }

  private checkWritable(): void {
    this.checkUsable();
  }

  private checkRange(index: number): void {
    if (!Number.isSafeInteger(index) || index < this.firstIndex || index > this.lastIndex) {
      throw new RangeError(
        `index ${index} is not in the log (${this.firstIndex}..${this.lastIndex})`,
      );
    }
  }

  private validate(entry: NewEntry, index: number, lastGeneration: number): void {
    const { generation, payload } = entry;
    const type = entry.type ?? 0;
    if (!Number.isSafeInteger(generation) || generation < lastGeneration) {
      throw new RangeError(
        `generation ${generation} must be an integer >= the last generation ${lastGeneration}`,
      );
    }
    if (!Number.isInteger(type) || type < 0 || type > MAX_ENTRY_TYPE)
      throw new RangeError(`type ${type} must be 0-65535`);
    if (payload.length > this.settings.maxEntryBytes) {
      throw new RangeError(
        `payload of ${payload.length} bytes exceeds maxEntryBytes ${this.settings.maxEntryBytes}`,
      );
    }
    if (entry.index !== undefined && entry.index !== index) {
      throw new RangeError(`entry expects index ${entry.index} but would be appended at ${index}`);
    }
  }

  /** Validates (unless done) and encodes one entry into the open batch; returns its index. */
  private encode(entry: NewEntry): number {
    const index = this.lastIndex + 1;
    this.validate(entry, index, this.lastGeneration);
    const size = recordSize(entry.payload.length);
    let segment = this.segmentList.at(-1)!;
    if (segment.count > 0 && segment.endOffset + size > this.settings.maxSegmentBytes) {
      segment = new Segment(this.directory, index, this.settings.wallClock.now());
      this.segmentList.push(segment);
    }
    let batch = this.openBatch;
    if (!batch || batch.segment !== segment) batch = this.startBatch(segment);
    if (batch.length + size > batch.buffer.length) this.growBatch(batch, batch.length + size);
    const offset = batch.startOffset + batch.length;
    batch.length = encodeRecord(
      batch.buffer,
      batch.view,
      batch.length,
      index,
      entry.generation,
      entry.type ?? 0,
      entry.payload,
      this.durable,
    );
    segment.push(offset);
    segment.endOffset = offset + size;
    batch.lastIndex = index;
    if (this.runGenerations.at(-1) !== entry.generation || this.runStarts.length === 0) {
      this.runStarts.push(index);
      this.runGenerations.push(entry.generation);
    }
    return index;
  }

  private startBatch(segment: Segment): Batch {
    const buffer = this.pool.pop() ?? new Uint8Array(INITIAL_BATCH_BYTES);
    const { promise, resolve, reject } = deferred();
    // Later appends are handled by their own `.then`; this keeps an unobserved failure quiet.
    promise.catch(() => undefined);
    const batch: Batch = {
      kind: 'batch',
      seq: 0,
      segment,
      startOffset: segment.endOffset,
      buffer,
      view: new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength),
      length: 0,
      lastIndex: segment.lastIndex,
      epoch: this.epoch,
      done: promise,
      resolve,
      reject,
    };
    if (segment.endOffset === 0) {
      // A new segment: its header goes out in the same write as its first records.
      encodeSegmentHeader(buffer, batch.view, 0, segment.firstIndex, segment.startedAtWallMs);
      batch.length = SEGMENT_HEADER_BYTES;
      segment.endOffset = SEGMENT_HEADER_BYTES;
    }
    this.openBatch = batch;
    this.enqueue(batch);
    return batch;
  }

  private growBatch(batch: Batch, needed: number): void {
    let capacity = batch.buffer.length * 2;
    while (capacity < needed) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(batch.buffer.subarray(0, batch.length));
    batch.buffer = grown;
    batch.view = new DataView(grown.buffer);
  }

  private enqueue(operation: Operation): void {
    operation.seq = ++this.seq;
    this.queue.push(operation);
    if (!this.draining) {
      this.draining = true;
      // Start on a microtask so appends made in the same tick join the first batch.
      void Promise.resolve().then(() => this.drain());
    }
  }

  private async drain(): Promise<void> {
    let operation: Operation | undefined;
    try {
      while (!this.failed && (operation = this.queue.shift()) !== undefined) {
        if (operation === this.openBatch) this.openBatch = undefined;
        this.current = operation;
        if (operation.kind !== 'batch' || operation.startOffset === 0) await this.settleSyncs();
        switch (operation.kind) {
          case 'batch':
            await this.writeBatch(operation);
            break;
          case 'truncate':
            await this.applyTruncation(operation.segment, operation.offset, operation.deleted);
            operation.resolve();
            break;
          case 'release':
            for (const segment of operation.deleted) await this.deleteSegment(segment);
            operation.resolve();
            break;
          case 'sync':
            await this.syncNow();
            operation.resolve();
            break;
        }
        this.current = undefined;
        this.completedSeq = operation.seq;
        this.wakeReaders();
      }
    } catch (error) {
      this.failStop(error);
    } finally {
      this.current = undefined;
      this.draining = false;
    }
  }

  private async writeBatch(batch: Batch): Promise<void> {
    const segment = batch.segment;
    const group = this.settings.durability === 'group';
    if (batch.startOffset === 0) {
      await this.rollTo(segment, batch);
    } else {
      const handle = segment.handle!;
      if (handle.writeOnLoop && batch.length <= LOOP_WRITE_MAX_BYTES) {
        // One worker round trip per group (the fdatasync) instead of two: the write itself only
        // copies into the page cache, cheaper here than a wake-up when a worker finishes it.
        handle.writeOnLoop(batch.buffer, 0, batch.length, batch.startOffset);
      } else {
        await handle.write(batch.buffer, 0, batch.length, batch.startOffset);
      }
      // A sync that failed meanwhile stopped the log: issue no further fsync.
      if (this.failed) return;
      if (group) {
        this.wrote(batch);
        // Group commit: appends arriving while this sync runs gather in the next batch. With
        // MAX_SYNCS_IN_FLIGHT > 1 the next batch is written while this sync runs (acks stay in order).
        this.startSync(handle, batch);
        if (this.syncsInFlight.length >= MAX_SYNCS_IN_FLIGHT) await this.syncsInFlight[0]!.settled;
        return;
      }
      this.unsyncedHandle = handle;
    }
    this.wrote(batch);
    this.acknowledge(batch, group);
    if (this.settings.durability === 'interval') this.scheduleSync();
  }

  private wrote(batch: Batch): void {
    if (batch.epoch === this.epoch) this.readable = Math.max(this.readable, batch.lastIndex);
    if (batch.buffer.length <= POOLED_BATCH_BYTES && this.pool.length < 2)
      this.pool.push(batch.buffer);
  }

  private acknowledge(batch: Batch, durable: boolean): void {
    if (durable && batch.epoch === this.epoch)
      this.durable = Math.max(this.durable, batch.lastIndex);
    batch.resolve();
  }

  private startSync(handle: FileHandle, batch: Batch): void {
    const inFlight: SyncInFlight = { batch, done: false, settled: Promise.resolve() };
    inFlight.settled = handle.datasync().then(
      () => {
        inFlight.done = true;
        // A datasync covers everything written before it began, but acknowledge strictly in order.
        while (this.syncsInFlight[0]?.done)
          this.acknowledge(this.syncsInFlight.shift()!.batch, true);
      },
      (error: unknown) => this.failStop(error),
    );
    this.syncsInFlight.push(inFlight);
  }

  /** Waits until every started fdatasync has returned; throws if the log failed meanwhile. */
  private async settleSyncs(): Promise<void> {
    while (this.syncsInFlight.length > 0) await this.syncsInFlight.at(-1)!.settled;
    if (this.failed) throw this.failed.cause;
  }

  /** Starts a new segment file: the spare becomes it while its first batch is written. */
  private async rollTo(segment: Segment, batch: Batch): Promise<void> {
    // The previous segment must be complete on disk before a later one exists, or recovery would
    // see a damaged older segment.
    if (this.unsyncedHandle) {
      await this.unsyncedHandle.datasync();
      this.unsyncedHandle = undefined;
    }
    const handle = await this.takeSpare();
    segment.handle = handle;
    const group = this.settings.durability === 'group';
    await Promise.all([
      (async () => {
        await this.fs.rename(`${this.directory}/${SPARE_SEGMENT_NAME}`, segment.path);
        await this.fs.syncDirectory(this.directory);
      })(),
      (async () => {
        await handle.write(batch.buffer, 0, batch.length, 0);
        if (group) await handle.datasync();
        else this.unsyncedHandle = handle;
      })(),
    ]);
    this.prepareSpare();
  }

  private prepareSpare(): void {
    const spare = (async () => {
      const handle = await this.fs.open(`${this.directory}/${SPARE_SEGMENT_NAME}`, 'create');
      await handle.truncate(0);
      await this.fs.syncDirectory(this.directory);
      return handle;
    })();
    spare.catch(() => undefined); // surfaced when taken
    this.spare = spare;
  }

  private takeSpare(): Promise<FileHandle> {
    const spare = this.spare!;
    this.spare = undefined;
    return spare;
  }

  private async applyTruncation(
    segment: Segment,
    offset: number,
    deleted: Segment[],
  ): Promise<void> {
    // Newest first, each delete durable before the next, so a crash never leaves a gap.
    for (let i = deleted.length - 1; i >= 0; i--) await this.deleteSegment(deleted[i]!);
    if (this.unsyncedHandle && this.unsyncedHandle !== segment.handle) {
      this.unsyncedHandle = undefined; // it belonged to a deleted segment
    }
    const handle = segment.handle!;
    await handle.truncate(offset);
    // Durable before any later write: a crash must never mix the old suffix with the new one.
    await handle.datasync();
    if (this.unsyncedHandle === handle) this.unsyncedHandle = undefined;
  }

  private async deleteSegment(segment: Segment): Promise<void> {
    if (this.unsyncedHandle === segment.handle) this.unsyncedHandle = undefined;
    await segment.retire();
    await this.fs.unlink(segment.path);
    await this.fs.syncDirectory(this.directory);
  }

  private async syncNow(): Promise<void> {
    const handle = this.unsyncedHandle;
    const upTo = this.readable;
    const epoch = this.epoch;
    if (handle) {
      this.unsyncedHandle = undefined;
      await handle.datasync();
    }
    this.lastSyncAt = this.settings.clock.now();
    if (epoch === this.epoch) this.durable = Math.max(this.durable, upTo);
  }

  private scheduleSync(): void {
    if (this.syncTimer !== undefined || this.closed) return;
    const wait = Math.max(
      0,
      this.lastSyncAt + this.settings.syncIntervalMs - this.settings.clock.now(),
    );
    this.syncTimer = this.settings.timers.setTimeout(() => {
      this.syncTimer = undefined;
      if (this.failed || this.closed || this.closing) return;
      this.enqueue({ kind: 'sync', seq: 0, resolve: () => undefined, reject: () => undefined });
    }, wait);
  }

  private failStop(error: unknown): void {
    if (this.failed) return;
    this.failed = new WalFailedError(error);
    const rejected: Operation[] = [
      ...this.syncsInFlight.splice(0).map((inFlight) => inFlight.batch),
      ...(this.current ? [this.current] : []),
      ...this.queue.splice(0),
    ];
    // Logged once, at error level, by whoever gets the error: the callers whose appends it
    // rejects, or this log when nobody awaits it (a background sync in `interval` mode).
    const fields = { err: error, directory: this.directory };
    if (rejected.length > 0) this.settings.logger.debug(fields, 'write-ahead log failed; stopping');
    else this.settings.logger.error(fields, 'write-ahead log failed; stopping');
    this.openBatch = undefined;
    for (const operation of rejected) operation.reject(this.failed);
    for (const waiter of this.readWaiters.splice(0)) waiter.reject(this.failed);
  }

  private waitUntilWritten(seq: number): Promise<void> {
    if (this.completedSeq >= seq) return Promise.resolve();
    return new Promise((resolve, reject) => this.readWaiters.push({ seq, resolve, reject }));
  }

  private wakeReaders(): void {
    if (this.readWaiters.length === 0) return;
    const waiting = this.readWaiters;
    this.readWaiters = [];
    for (const waiter of waiting) {
      if (waiter.seq <= this.completedSeq) waiter.resolve();
      else this.readWaiters.push(waiter);
    }
  }

  private segmentFor(index: number): Segment {
    const list = this.segmentList;
    let low = 0;
    let high = list.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >>> 1;
      if (list[middle]!.firstIndex <= index) low = middle;
      else high = middle - 1;
    }
    return list[low]!;
  }
}

/** The tuning and ports the log keeps; the other options are used by `open` alone. */
type Settings = Required<
  Omit<WriteAheadLogOptions, 'fileSystem' | 'firstIndex' | 'onRecoveredEntry'>
>;

function validateSettings(settings: Settings): void {
  const { durability, syncIntervalMs, maxSegmentBytes, maxEntryBytes, sectorBytes } = settings;
  if (
    !Number.isSafeInteger(sectorBytes) ||
    sectorBytes < 16 ||
    sectorBytes > 65536 ||
    (sectorBytes & (sectorBytes - 1)) !== 0
  ) {
    throw new RangeError(`sectorBytes must be a power of two from 16 to 65536, got ${sectorBytes}`);
  }
  if (durability !== 'group' && durability !== 'interval' && durability !== 'none') {
    throw new RangeError(`unknown durability mode ${String(durability)}`);
  }
  if (!(syncIntervalMs >= 0)) throw new RangeError(`syncIntervalMs must be >= 0`);
  if (!Number.isSafeInteger(maxEntryBytes) || maxEntryBytes < 0) {
    throw new RangeError('maxEntryBytes must be a non-negative integer');
  }
  // Offsets within a segment are 32-bit; one oversized entry may overshoot the segment limit.
  const largestOffset = maxSegmentBytes + recordSize(maxEntryBytes);
  if (
    !Number.isSafeInteger(maxSegmentBytes) ||
    maxSegmentBytes < SEGMENT_HEADER_BYTES ||
    largestOffset > 0xffff_ffff
  ) {
    throw new RangeError('maxSegmentBytes plus maxEntryBytes must stay below 4 GiB');
  }
}
