/**
 * This member's replica of every key in quorum mode: the newest versioned value (or tombstone) of
 * each key, in key order, made durable through `@x/wal` (fdatasync) before a write is
 * acknowledged. On open the log is replayed; records may be in any order, because a replica keeps
 * the newer of two versions whatever order they arrive in.
 */

import { WriteAheadLog } from '@x/wal';
import { newer } from '@x/quorum';
import type { HybridTimestamp } from '@x/clocks';
import { ZERO_HYBRID_TIMESTAMP, compareHybrid } from '@x/clocks';
import { SortedKeyMap } from '../store/sorted-key-map.js';
import type { ByteString } from '../store/byte-string.js';
import { compareValueVersions } from './value-version.js';
import type { StoredValue } from './value-version.js';
import { decodeStoredRecord, encodeStoredRecord } from './stored-record.js';

/** The WAL generation of quorum-mode records (quorum mode has no generations: always 1). */
const RECORD_GENERATION = 1;

/** A key and its stored value. */
export interface StoredEntry {
  readonly key: ByteString;
  readonly stored: StoredValue;
}

/** The replica store. */
export class QuorumReplicaStore {
  readonly #log: WriteAheadLog | undefined;
  readonly #values = new SortedKeyMap<StoredValue>();
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

  /** Closes the log. */
  async close(): Promise<void> {
    await this.#log?.close();
  }

  #keep(key: ByteString, incoming: StoredValue): void {
    const kept = newer(this.#values.get(key), incoming, compareValueVersions) as StoredValue;
    this.#values.set(key, kept);
    if (compareHybrid(incoming.version.timestamp, this.#highestTimestamp) > 0) {
      this.#highestTimestamp = incoming.version.timestamp;
    }
  }
}
