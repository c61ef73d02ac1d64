/**
 * This member's replica of every key in quorum mode: the newest versioned value (or tombstone) of
 * each key, in key order, made durable through `@x/wal` (fdatasync) before a write is
 * acknowledged. On open the log is replayed; records may be in any order, because a replica keeps
 * the newer of two versions whatever order they arrive in.
 */

import { createHash } from 'node:crypto';
import { WriteAheadLog } from '@x/wal';
import { newer } from '@x/quorum';
import type { HybridTimestamp } from '@x/clocks';
import { ZERO_HYBRID_TIMESTAMP, compareHybrid } from '@x/clocks';
import { SortedKeyMap } from '../store/sorted-key-map.js';
import type { ByteString } from '../store/byte-string.js';
import { compareValueVersions, encodeValueVersion } from './value-version.js';
import type { StoredValue } from './value-version.js';
import { decodeStoredRecord, encodeStoredRecord } from './stored-record.js';

/** The WAL generation of quorum-mode records (quorum mode has no generations: always 1). */
const RECORD_GENERATION = 1;

/**
 * Keys are spread over this many buckets by a hash of the key; each bucket has a digest of its
 * entries, so two members find the buckets where they differ by comparing 256 digests (see
 * `anti-entropy.ts`).
 */
export const DIGEST_BUCKETS = 256;

/** A key and its stored value. */
export interface StoredEntry {
  readonly key: ByteString;
  readonly stored: StoredValue;
}

/** The replica store. */
export class QuorumReplicaStore {
  readonly #log: WriteAheadLog | undefined;
  readonly #values = new SortedKeyMap<StoredValue>();
  /** Per bucket, two 32-bit halves of the XOR of its entries' hashes. */
  readonly #digests = new Uint32Array(2 * DIGEST_BUCKETS);
  readonly #bucketKeys = Array.from({ length: DIGEST_BUCKETS }, () => new Set<ByteString>());
  #highestTimestamp: HybridTimestamp = ZERO_HYBRID_TIMESTAMP;
  /** Called after each fdatasync'ed append with its duration in milliseconds. */
  onSynced: ((durationMs: number) => void) | undefined;
  /** Called when the log fails (the member must stop: fail-stop, DESIGN.md §6). */
  onFailure: ((error: Error) => void) | undefined;

  private constructor(log: WriteAheadLog | undefined) {
    this.#log = log;
  }

  /**
   * Opens (or creates) the store's log in `directory` and replays it.
   *
   * @throws WalLockedError, WalCorruptionError (see `@x/wal`) and decode errors for a damaged log.
   */
  static async open(directory: string): Promise<QuorumReplicaStore> {
    const log = await WriteAheadLog.open(directory);
    const store = new QuorumReplicaStore(log);
    for await (const entry of log.entries(log.firstIndex)) {
      const { key, stored } = decodeStoredRecord(entry.payload);
      store.#keep(key, stored);
    }
    return store;
  }

  /** A store kept in memory only (tests of the coordinator). */
  static inMemory(): QuorumReplicaStore {
    return new QuorumReplicaStore(undefined);
  }

  /** The newest timestamp stored: a restarted member's hybrid clock starts above it. */
  get highestTimestamp(): HybridTimestamp {
    return this.#highestTimestamp;
  }

  /** Number of keys, tombstones included. */
  get size(): number {
    return this.#values.size;
  }

  /** The stored value of `key` (a tombstone included), or `undefined`. */
  get(key: ByteString): StoredValue | undefined {
    return this.#values.get(key);
  }

  /** Stored values of keys in `[start, end)` in key order (`end` undefined: to the last key). */
  range(start: ByteString, end: ByteString | undefined, limit: number): StoredEntry[] {
    const entries: StoredEntry[] = [];
    this.#values.scan(start, end, (key, stored) => {
      entries.push({ key, stored });
      return limit === 0 || entries.length < limit;
    });
    return entries;
  }

  /**
   * Stores `incoming` unless the key already holds a newer or equal version; resolves once it is
   * durable (or at once when there was nothing to store).
   *
   * @returns whether the value was newer and stored.
   * @throws (rejects) WalFailedError when the log failed: the member must stop (fail-stop).
   */
  async write(key: ByteString, incoming: StoredValue): Promise<boolean> {
    const current = this.#values.get(key);
    if (compareValueVersions(incoming.version, current?.version) <= 0) return false;
    if (this.#log !== undefined) {
      const started = performance.now();
      try {
        await this.#log.append({
          generation: RECORD_GENERATION,
          payload: encodeStoredRecord(key, incoming),
        });
      } catch (error) {
        this.onFailure?.(error as Error);
        throw error;
      }
      this.onSynced?.(performance.now() - started);
    }
    // Another write of the key may have been stored while this one was being synced.
    this.#keep(key, incoming);
    return true;
  }

  /**
   * The digest of each bucket (hex): equal digests mean, but for a 2^-64 chance, the same keys at
   * the same versions. Changes in O(1) with each write.
   */
  bucketDigests(): string[] {
    const digests: string[] = [];
    for (let bucket = 0; bucket < DIGEST_BUCKETS; bucket++) {
      digests.push(
        (this.#digests[2 * bucket] as number).toString(16).padStart(8, '0') +
          (this.#digests[2 * bucket + 1] as number).toString(16).padStart(8, '0'),
      );
    }
    return digests;
  }

  /** One hash of the whole replica: equal on members that hold the same keys at the same versions. */
  stateHash(): string {
    return createHash('sha256').update(this.bucketDigests().join('')).digest('hex');
  }

  /** The stored entries of one bucket, tombstones included. */
  bucketEntries(bucket: number): StoredEntry[] {
    const keys = this.#bucketKeys[bucket];
    if (keys === undefined) throw new RangeError(`no bucket ${bucket}`);
    return [...keys].map((key) => ({ key, stored: this.#values.get(key) as StoredValue }));
  }

  /** Closes the log. */
  async close(): Promise<void> {
    await this.#log?.close();
  }

  #keep(key: ByteString, incoming: StoredValue): void {
    const previous = this.#values.get(key);
    const kept = newer(previous, incoming, compareValueVersions) as StoredValue;
    if (kept !== previous) {
      const { bucket, high, low } = entryHash(key, kept);
      if (previous === undefined) this.#bucketKeys[bucket]?.add(key);
      else this.#xor(bucket, entryHash(key, previous));
      this.#xor(bucket, { high, low });
    }
    this.#values.set(key, kept);
    if (compareHybrid(incoming.version.timestamp, this.#highestTimestamp) > 0) {
      this.#highestTimestamp = incoming.version.timestamp;
    }
  }

  #xor(bucket: number, hash: { high: number; low: number }): void {
    this.#digests[2 * bucket] = ((this.#digests[2 * bucket] as number) ^ hash.high) >>> 0;
    this.#digests[2 * bucket + 1] = ((this.#digests[2 * bucket + 1] as number) ^ hash.low) >>> 0;
  }
}

/** The bucket of `key` and a 64-bit hash of the entry (key and version identify a write). */
function entryHash(
  key: ByteString,
  stored: StoredValue,
): { bucket: number; high: number; low: number } {
  const keyHash = createHash('sha1').update(key, 'latin1').digest();
  const hash = createHash('sha1')
    .update(keyHash)
    .update(encodeValueVersion(stored.version))
    .digest();
  return { bucket: keyHash[0] as number, high: hash.readUInt32LE(0), low: hash.readUInt32LE(4) };
}

/** The bucket `key` belongs to. */
export function bucketOf(key: ByteString): number {
  return createHash('sha1').update(key, 'latin1').digest()[0] as number;
}
