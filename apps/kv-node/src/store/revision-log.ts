/**
 * Which keys each revision changed, in the order it changed them, for every revision after the
 * compact revision: what compaction visits (only the keys changed since the last compaction, not
 * every key) and what a watch replays in revision order.
 *
 * Kept flat (one array of key references and one of offsets) so a revision costs two array
 * slots plus one per key it changed; the key strings are the store's own. Both arrays are only
 * ever appended to (or replaced whole), which lets a snapshot capture the log by reference (see
 * {@link RevisionLog.capture}) instead of copying it into an array per revision.
 */

import type { ByteString } from './byte-string.js';

/**
 * The revision log as the key-value store uses it, wherever it lives: {@link RevisionLog} in the
 * heap, or `lmdb-revision-log.ts` in an LMDB database read revision by revision.
 */
export interface ChangeLog {
  /** The oldest revision logged (or the next one, when the log is empty). */
  readonly firstRevision: number;
  /** The newest revision logged (`firstRevision - 1` when empty). */
  readonly lastRevision: number;
  /** Number of key changes logged. */
  readonly changeCount: number;
  /**
   * Records that `revision` changed `key`; revisions are recorded in order, without gaps.
   *
   * @throws RangeError if `revision` is neither the last one logged nor the next.
   */
  record(revision: number, key: ByteString): void;
  /** The keys `revision` changed, in order (empty when it is not logged). */
  keysAt(revision: number): ByteString[];
  /**
   * Forgets every revision up to and including `revision`, calling `visit` for each key they
   * changed (a key changed by several of them is visited several times).
   */
  dropThrough(revision: number, visit: (key: ByteString) => void): void;
  /** Every logged revision and its keys, oldest first. */
  forEachRevision(visit: (revision: number, keys: ByteString[]) => void): void;
  /** Forgets every revision: the next one recorded is `firstRevision`. */
  reset(firstRevision: number): void;
  /**
   * Optional: the logged revisions as they are now, unchanged by later records (what a snapshot
   * encodes), without copying them revision by revision; a log without it is read with
   * {@link ChangeLog.forEachRevision}.
   */
  capture?(): RevisionChanges;
}

/**
 * Revisions and the keys each changed, oldest first, as a snapshot encodes them: an array of
 * `[revision, keys]`, or a {@link CapturedRevisions} that makes those pairs as it is read.
 */
export interface RevisionChanges extends Iterable<readonly [number, ByteString[]]> {
  /** Number of revisions. */
  readonly length: number;
}

/**
 * The revisions a {@link RevisionLog} held when captured, over the log's own arrays: the log only
 * appends to them or replaces them, so the first `length` revisions read here never change. Costs
 * nothing per revision until read, where an array per revision costs about 150 bytes (a
 * snapshot of a million single-put revisions held about 150 MB that way while it was written).
 */
export class CapturedRevisions implements RevisionChanges {
  readonly #firstRevision: number;
  readonly #keys: readonly ByteString[];
  readonly #starts: readonly number[];
  readonly #revisionCount: number;
  readonly #keyCount: number;

  /**
   * @param firstRevision the revision of `starts[0]`.
   * @param keys the keys changed, revision after revision (only the first `keyCount` are read).
   * @param starts offset in `keys` of each revision's first key (the first `revisionCount`).
   */
  constructor(
    firstRevision: number,
    keys: readonly ByteString[],
    starts: readonly number[],
    keyCount: number,
    revisionCount: number,
  ) {
    this.#firstRevision = firstRevision;
    this.#keys = keys;
    this.#starts = starts;
    this.#keyCount = keyCount;
    this.#revisionCount = revisionCount;
  }

  /** Number of revisions. */
  get length(): number {
    return this.#revisionCount;
  }

  /** Each revision and (a new array of) the keys it changed, oldest first. */
  *[Symbol.iterator](): Generator<[number, ByteString[]]> {
    for (let position = 0; position < this.#revisionCount; position++) {
      const end =
        position + 1 < this.#revisionCount
          ? (this.#starts[position + 1] as number)
          : this.#keyCount;
      yield [this.#firstRevision + position, this.#keys.slice(this.#starts[position], end)];
    }
  }
}

/**
 * Revisions and their keys as a snapshot's decoder collects them: three flat arrays (revision,
 * offset of its first key, keys) where an array per revision costs about 150 bytes. The
 * revisions are kept as they came; whoever loads them checks that they are consecutive.
 */
export class RevisionList implements RevisionChanges {
  readonly #revisions: number[] = [];
  readonly #starts: number[] = [];
  readonly #keys: ByteString[] = [];

  /** Number of revisions. */
  get length(): number {
    return this.#revisions.length;
  }

  /** Appends a revision and the keys it changed. */
  add(revision: number, keys: readonly ByteString[]): void {
    this.#revisions.push(revision);
    this.#starts.push(this.#keys.length);
    for (const key of keys) this.#keys.push(key);
  }

  /** Each revision and (a new array of) the keys it changed, in the order added. */
  *[Symbol.iterator](): Generator<[number, ByteString[]]> {
    for (let position = 0; position < this.#revisions.length; position++) {
      const end =
        position + 1 < this.#starts.length
          ? (this.#starts[position + 1] as number)
          : this.#keys.length;
      yield [this.#revisions[position] as number, this.#keys.slice(this.#starts[position], end)];
    }
  }
}

/** The keys changed per revision, from {@link RevisionLog.firstRevision} on, in the heap. */
export class RevisionLog implements ChangeLog {
  #firstRevision: number;
  #keys: ByteString[] = [];
  /**
   * `#starts[i]`: offset in `#keys` of the first key of revision `#firstRevision + i` (its end is
   * the next one's start, or the end of `#keys`). Starts rather than ends, so that recording
   * never changes an element already there (see {@link RevisionLog.capture}).
   */
  #starts: number[] = [];

  /** @param firstRevision the revision the next {@link RevisionLog.record} may start. */
  constructor(firstRevision: number) {
    this.#firstRevision = firstRevision;
  }

  /** The oldest revision logged (or the next one, when the log is empty). */
  get firstRevision(): number {
    return this.#firstRevision;
  }

  /** The newest revision logged (`firstRevision - 1` when empty). */
  get lastRevision(): number {
    return this.#firstRevision + this.#starts.length - 1;
  }

  /** Number of key changes logged. */
  get changeCount(): number {
    return this.#keys.length;
  }

  /**
   * Records that `revision` changed `key`. Revisions are recorded in order, without gaps; a
   * revision may record many keys.
   *
   * @throws RangeError if `revision` is neither the last one logged nor the next.
   */
  record(revision: number, key: ByteString): void {
    const last = this.lastRevision;
    if (revision === last + 1) this.#starts.push(this.#keys.length);
    else if (revision !== last) {
      throw new RangeError(`revision ${revision} logged after ${last}`);
    }
    this.#keys.push(key);
  }

  /** End offset in `#keys` of the revision at `position`. */
  #endOf(position: number): number {
    return position + 1 < this.#starts.length
      ? (this.#starts[position + 1] as number)
      : this.#keys.length;
  }

  /** The keys `revision` changed, in order (empty when it is not logged). */
  keysAt(revision: number): ByteString[] {
    const position = revision - this.#firstRevision;
    if (position < 0 || position >= this.#starts.length) return [];
    return this.#keys.slice(this.#starts[position], this.#endOf(position));
  }

  /**
   * Forgets every revision up to and including `revision`, calling `visit` for each key they
   * changed (a key changed by several of them is visited several times).
   */
  dropThrough(revision: number, visit: (key: ByteString) => void): void {
    const count = Math.min(revision - this.#firstRevision + 1, this.#starts.length);
    if (count <= 0) {
      if (revision >= this.#firstRevision) this.#firstRevision = revision + 1;
      return;
    }
    const keyCount = this.#endOf(count - 1);
    for (let index = 0; index < keyCount; index++) visit(this.#keys[index] as ByteString);
    // New arrays, never the old ones shortened: a capture may still read those.
    this.#keys = this.#keys.slice(keyCount);
    this.#starts = this.#starts.slice(count).map((start) => start - keyCount);
    this.#firstRevision = Math.max(this.#firstRevision + count, revision + 1);
  }

  /** Forgets every revision: the next one recorded is `firstRevision`. */
  reset(firstRevision: number): void {
    this.#firstRevision = firstRevision;
    this.#keys = [];
    this.#starts = [];
  }

  /** Every logged revision and its keys, oldest first (for snapshots). */
  forEachRevision(visit: (revision: number, keys: ByteString[]) => void): void {
    for (let position = 0; position < this.#starts.length; position++) {
      visit(
        this.#firstRevision + position,
        this.#keys.slice(this.#starts[position], this.#endOf(position)),
      );
    }
  }

  /**
   * The logged revisions as of now, over this log's arrays (no copy): records append to them
   * and compaction or a reset replaces them, so what the capture reads never changes.
   */
  capture(): CapturedRevisions {
    return new CapturedRevisions(
      this.#firstRevision,
      this.#keys,
      this.#starts,
      this.#keys.length,
      this.#starts.length,
    );
  }
}
