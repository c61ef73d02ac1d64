/**
 * Which keys each revision changed, in the order it changed them, for every revision after the
 * compact revision: what compaction visits (only the keys changed since the last compaction, not
 * every key) and what a watch replays in revision order.
 *
 * Kept flat (one array of key references and one of offsets) so a revision costs two array
 * slots plus one per key it changed; the key strings are the store's own.
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
}

/** The keys changed per revision, from {@link RevisionLog.firstRevision} on, in the heap. */
export class RevisionLog implements ChangeLog {
  #firstRevision: number;
  #keys: ByteString[] = [];
  /** `#ends[i]`: end offset in `#keys` of revision `#firstRevision + i`. */
  #ends: number[] = [];

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
    return this.#firstRevision + this.#ends.length - 1;
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
    if (revision === last + 1) this.#ends.push(this.#keys.length);
    else if (revision !== last) {
      throw new RangeError(`revision ${revision} logged after ${last}`);
    }
    this.#keys.push(key);
    this.#ends[this.#ends.length - 1] = this.#keys.length;
  }

  /** The keys `revision` changed, in order (empty when it is not logged). */
  keysAt(revision: number): ByteString[] {
    const position = revision - this.#firstRevision;
    if (position < 0 || position >= this.#ends.length) return [];
    const start = position === 0 ? 0 : (this.#ends[position - 1] as number);
    return this.#keys.slice(start, this.#ends[position]);
  }

  /**
   * Forgets every revision up to and including `revision`, calling `visit` for each key they
   * changed (a key changed by several of them is visited several times).
   */
  dropThrough(revision: number, visit: (key: ByteString) => void): void {
    const count = Math.min(revision - this.#firstRevision + 1, this.#ends.length);
    if (count <= 0) {
      if (revision >= this.#firstRevision) this.#firstRevision = revision + 1;
      return;
    }
    const keyCount = this.#ends[count - 1] as number;
    for (let index = 0; index < keyCount; index++) visit(this.#keys[index] as ByteString);
    this.#keys = this.#keys.slice(keyCount);
    this.#ends = this.#ends.slice(count).map((end) => end - keyCount);
    this.#firstRevision = Math.max(this.#firstRevision + count, revision + 1);
  }

  /** Forgets every revision: the next one recorded is `firstRevision`. */
  reset(firstRevision: number): void {
    this.#firstRevision = firstRevision;
    this.#keys = [];
    this.#ends = [];
  }

  /** Every logged revision and its keys, oldest first (for snapshots). */
  forEachRevision(visit: (revision: number, keys: ByteString[]) => void): void {
    let start = 0;
    for (let position = 0; position < this.#ends.length; position++) {
      const end = this.#ends[position] as number;
      visit(this.#firstRevision + position, this.#keys.slice(start, end));
      start = end;
    }
  }
}
