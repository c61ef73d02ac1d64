/**
 * A {@link KeyMap} kept in one LMDB database, with the writes since the last commit held in an
 * in-memory overlay: reads look in the overlay first, then in LMDB; `writePending` copies the
 * overlay into a write transaction the owner (`lmdb-state-store.ts`) commits together with the
 * applied index.
 *
 * Why an overlay rather than a write transaction per command: the store is synchronous and
 * applies one command at a time, and an LMDB commit that reaches the disk costs an fdatasync.
 * The overlay turns thousands of commands into one commit; the replicated log, already durable,
 * covers the commands after it (see docs/design.md, "kv-node's state on LMDB").
 */

import type { Database, Transaction } from 'lmdb';
import type { ByteString } from './byte-string.js';
import type { KeyMap } from './key-map.js';
import { SortedKeyMap } from './sorted-key-map.js';

/** How a value becomes the bytes LMDB stores, and back. */
export interface ValueCodec<V> {
  encode(value: V): Buffer;
  decode(bytes: Uint8Array): V;
}

/** Marks a key deleted in the overlay (LMDB still holds it until the next commit). */
const DELETED: unique symbol = Symbol('deleted');
type Slot<V> = V | typeof DELETED;

/** A byte string's characters as the bytes LMDB keys by. */
export function keyBytes(key: ByteString): Buffer {
  return Buffer.from(key, 'latin1');
}

function byteStringOf(key: Uint8Array): ByteString {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}

/** Every entry `db` holds as of `transaction`, as stored, in key order, read as iterated. */
function* committedRange(
  db: Database<Buffer, Buffer>,
  transaction: Transaction,
): Generator<[Uint8Array, Uint8Array]> {
  for (const { key, value } of db.getRange({ transaction })) yield [key, value];
}

function* decodedEntries<V>(
  stored: Iterable<[Uint8Array, Uint8Array]>,
  codec: ValueCodec<V>,
): Generator<[ByteString, V]> {
  for (const [key, value] of stored) yield [byteStringOf(key), codec.decode(value)];
}

/** See the module comment. */
export class LmdbKeyMap<V> implements KeyMap<V> {
  /** Replaced only when a snapshot install's database takes over (see `switchTo`). */
  #db: Database<Buffer, Buffer>;
  readonly #codec: ValueCodec<V>;
  #pending = new SortedKeyMap<Slot<V>>();
  /** Whether LMDB's contents no longer count (a clear or load not yet committed). */
  #cleared = false;
  #size: number;

  /**
   * @param db the database, opened with binary keys and values.
   * @param codec how values are stored.
   * @param committedSize the number of keys LMDB holds (saved with the applied index).
   */
  constructor(db: Database<Buffer, Buffer>, codec: ValueCodec<V>, committedSize: number) {
    this.#db = db;
    this.#codec = codec;
    this.#size = committedSize;
  }

  /** Number of keys stored (overlay included). */
  get size(): number {
    return this.#size;
  }

  /** Number of keys written or deleted since the last commit: the overlay's size. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  get(key: ByteString): V | undefined {
    const pending = this.#pending.get(key);
    if (pending !== undefined) return pending === DELETED ? undefined : pending;
    if (this.#cleared) return undefined;
    const bytes = this.#db.get(keyBytes(key));
    return bytes === undefined ? undefined : this.#codec.decode(bytes);
  }

  set(key: ByteString, value: V): void {
    this.upsert(key, () => value);
  }

  upsert(key: ByteString, compute: (previous: V | undefined) => V): V | undefined {
    const previous = this.get(key);
    this.#pending.set(key, compute(previous));
    if (previous === undefined) this.#size++;
    return previous;
  }

  delete(key: ByteString): boolean {
    if (this.get(key) === undefined) return false;
    // Once LMDB no longer counts, a deleted key simply leaves the overlay.
    if (this.#cleared) this.#pending.delete(key);
    else this.#pending.set(key, DELETED);
    this.#size--;
    return true;
  }

  clear(): void {
    this.#pending.clear();
    this.#cleared = true;
    this.#size = 0;
  }

  load(keys: readonly ByteString[], values: readonly V[]): void {
    // Checks the order before changing anything; the next commit replaces LMDB's contents whole.
    this.#pending.load(keys, values);
    this.#cleared = true;
    this.#size = keys.length;
  }

  scan(
    start: ByteString,
    end: ByteString | undefined,
    visit: (key: ByteString, value: V) => boolean | void,
  ): void {
    this.#visit(start, end, visit);
  }

  collect(
    start: ByteString,
    end: ByteString | undefined,
    limit: number,
  ): { keys: ByteString[]; values: V[]; count: number } {
    const keys: ByteString[] = [];
    const values: V[] = [];
    let count = 0;
    this.#visit(start, end, (key, value) => {
      count++;
      if (keys.length < limit) {
        keys.push(key);
        values.push(value);
      }
    });
    return { keys, values, count };
  }

  /**
   * The committed contents as of `transaction` (a read transaction the caller holds), read as
   * they are iterated and ignoring the overlay: a consistent view while later commands keep
   * applying and committing. Reads the database the map uses now, also if a snapshot install
   * switches it to another before the iteration ends.
   */
  committedEntries(transaction: Transaction): Iterable<[ByteString, V]> {
    return decodedEntries(committedRange(this.#db, transaction), this.#codec);
  }

  /**
   * As {@link LmdbKeyMap.committedEntries}, with keys and values as LMDB holds them (a key's
   * bytes are its byte string's characters; a value is its codec's encoding): for a snapshot
   * that writes them as they are, with no string made per key.
   */
  committedBytes(transaction: Transaction): Iterable<[Uint8Array, Uint8Array]> {
    return committedRange(this.#db, transaction);
  }

  /**
   * Reads `db` from now on, which holds `committedSize` keys (a snapshot install's, just
   * written): the overlay and the previous database are forgotten.
   */
  switchTo(db: Database<Buffer, Buffer>, committedSize: number): void {
    this.#db = db;
    this.#pending = new SortedKeyMap<Slot<V>>();
    this.#cleared = false;
    this.#size = committedSize;
  }

  /** Copies the overlay into the write transaction the caller is running. */
  writePending(): void {
    if (this.#cleared) this.#db.clearSync();
    const cleared = this.#cleared;
    this.#pending.scan('', undefined, (key, slot) => {
      if (slot !== DELETED) void this.#db.put(keyBytes(key), this.#codec.encode(slot));
      else if (!cleared) void this.#db.remove(keyBytes(key));
    });
  }

  /** Forgets the overlay once the transaction holding it committed. */
  committed(): void {
    this.#pending = new SortedKeyMap<Slot<V>>();
    this.#cleared = false;
  }

  /** Merges the overlay's keys in `[start, end)` with LMDB's, the overlay winning. */
  #visit(
    start: ByteString,
    end: ByteString | undefined,
    visit: (key: ByteString, value: V) => boolean | void,
  ): void {
    const pending = this.#pending.collect(start, end, Infinity);
    let at = 0;
    if (!this.#cleared) {
      const range: { start?: Buffer; end?: Buffer } = {};
      if (start !== '') range.start = keyBytes(start);
      if (end !== undefined) range.end = keyBytes(end);
      for (const { key: rawKey, value } of this.#db.getRange(range)) {
        const key = byteStringOf(rawKey);
        while (at < pending.keys.length && (pending.keys[at] as ByteString) < key) {
          const slot = pending.values[at] as Slot<V>;
          const pendingKey = pending.keys[at++] as ByteString;
          if (slot !== DELETED && visit(pendingKey, slot) === false) return;
        }
        if (at < pending.keys.length && pending.keys[at] === key) {
          const slot = pending.values[at++] as Slot<V>;
          if (slot !== DELETED && visit(key, slot) === false) return;
          continue;
        }
        if (visit(key, this.#codec.decode(value)) === false) return;
      }
    }
    for (; at < pending.keys.length; at++) {
      const slot = pending.values[at] as Slot<V>;
      if (slot !== DELETED && visit(pending.keys[at] as ByteString, slot) === false) return;
    }
  }
}
