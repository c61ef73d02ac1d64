/**
 * The ordered map the key-value store keeps its live keys and its history in: the seam between
 * the store's logic (`kv-store.ts`) and where the bytes live. {@link SortedKeyMap} keeps them in
 * the JavaScript heap; `lmdb-key-map.ts` keeps them in an LMDB database with the writes not yet
 * committed held in memory.
 *
 * Why this narrow: the store's etcd semantics stay in one place, so both backends answer alike
 * by construction, and the in-memory path calls the same methods it always did.
 */

import type { ByteString } from './byte-string.js';

/**
 * A map from byte-string keys (see {@link ByteString}) to values, ordered by unsigned byte order.
 * Values handed out are the map's own: callers treat them as immutable and store a changed value
 * with {@link KeyMap.set} or {@link KeyMap.upsert}.
 */
export interface KeyMap<V> {
  /** Number of keys stored. */
  readonly size: number;
  /** The value stored under `key`, or `undefined`. */
  get(key: ByteString): V | undefined;
  /**
   * Optional, for a map that holds its keys as strings: the string it holds equal to `key` (its
   * own instance), or `undefined` when `key` is absent. Lets other structures share that string
   * instead of keeping an equal copy (32 bytes or more each).
   */
  keyInstance?(key: ByteString): ByteString | undefined;
  /** Stores `value` under `key`, replacing any previous value. */
  set(key: ByteString, value: V): void;
  /** Stores `compute(previous)` under `key`; returns `previous` (`undefined` if absent). */
  upsert(key: ByteString, compute: (previous: V | undefined) => V): V | undefined;
  /** Removes `key`; returns whether it was present. */
  delete(key: ByteString): boolean;
  /** Removes every key. */
  clear(): void;
  /**
   * Replaces the contents with `keys` (strictly ascending) and their `values`.
   *
   * @throws RangeError if the keys are not strictly ascending or the arrays differ in length.
   */
  load(keys: readonly ByteString[], values: readonly V[]): void;
  /**
   * Visits keys in ascending order from the first key `>= start` while they are `< end` (no
   * upper bound when `end` is `undefined`); the visitor returns `false` to stop. The map must
   * not be modified during the scan.
   */
  scan(
    start: ByteString,
    end: ByteString | undefined,
    visit: (key: ByteString, value: V) => boolean | void,
  ): void;
  /**
   * The keys in `[start, end)` and their values, up to `limit` of them, and the count of all:
   * arrays that later changes to the map do not change.
   */
  collect(
    start: ByteString,
    end: ByteString | undefined,
    limit: number,
  ): { keys: ByteString[]; values: V[]; count: number };
}
