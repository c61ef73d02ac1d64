/**
 * This member's replica of every key in quorum mode: the newest versioned value (or tombstone) of
 * each key, in key order, made durable through `@x/wal` (fdatasync) before a write is
 * acknowledged. On open the snapshot (if any) is loaded and the log after it replayed; records
 * may be in any order, because a replica keeps the newer of two versions whatever order they
 * arrive in. Once the log holds more records after the snapshot than a threshold, the store
 * writes a new snapshot (`quorum-snapshot.ts`) and deletes the log's whole segments below it, so
 * disk use stays bounded by the live data plus the threshold.
 */

import { createHash } from 'node:crypto';
import { WriteAheadLog } from '@x/wal';
import { newer } from '@x/quorum';
import type { HybridTimestamp } from '@x/clocks';
import { ZERO_HYBRID_TIMESTAMP, compareHybrid } from '@x/clocks';
import { SortedKeyMap } from '../store/sorted-key-map.js';
import type { ByteString } from '../store/byte-string.js';
import { compareValueVersions, encodeValueVersion } from './value-version.js';
import type { StoredValue, ValueVersion } from './value-version.js';
import { decodeStoredRecord, encodeStoredRecord } from './stored-record.js';
import { readQuorumSnapshot, writeQuorumSnapshot } from './quorum-snapshot.js';

/** The WAL generation of quorum-mode records (quorum mode has no generations: always 1). */
const RECORD_GENERATION = 1;

/**
 * Keys are spread over this many buckets by a hash of the key; each bucket has a digest of its
 * entries, so two members find the buckets where they differ by comparing 256 digests (see
 * `anti-entropy.ts`).
 */
export const DIGEST_BUCKETS = 256;

/**
 * A write sent to this member (a client write, a read repair, an anti-entropy push) of a key it
 * does not hold, at or below its collection horizon: it may be an old value of a key whose
 * tombstone was collected here, and storing it would bring the deleted key back.
 */
export class BelowCollectionHorizonError extends Error {
  /** @param key the key, @param horizon the collection horizon (encoded version). */
  constructor(
    readonly key: ByteString,
    readonly horizon: string,
  ) {
    super(
      `refused a write older than the tombstone collection horizon ${horizon}: it may undo a delete`,
    );
    this.name = 'BelowCollectionHorizonError';
  }
}

/** Where a write comes from: sent to this member, or pulled by its own anti-entropy round. */
export type WriteOrigin = 'sent' | 'pulled';

/** Options of {@link QuorumReplicaStore.open}. */
export interface QuorumReplicaStoreOptions {
  /**
   * Log records after the last snapshot that start a compaction (default
   * {@link DEFAULT_COMPACT_AFTER_RECORDS}; the store also waits for twice its key count).
   */
  readonly compactAfterRecords?: number;
  /** Bytes per log segment (default `@x/wal`'s 64 MiB); compaction deletes whole segments. */
  readonly maxSegmentBytes?: number;
}

/** Log records after the last snapshot that start a compaction, by default. */
export const DEFAULT_COMPACT_AFTER_RECORDS = 100_000;

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
  /** Peers known to hold each tombstone this member holds (at its version or newer). */
  readonly #tombstoneHolders = new Map<ByteString, Set<string>>();
  /** The newest version of a tombstone collected here (see {@link collectTombstones}). */
  #collectionHorizon: ValueVersion | undefined;
  /**
   * Tombstones collected here, remembered until every peer is seen without them (so none of them
   * sends one back to be stored again): their versions and the peers seen without them.
   */
  readonly #collectedKeys = new Map<ByteString, { version: ValueVersion; gone: Set<string> }>();
  readonly #snapshotPath: string | undefined;
  readonly #compactAfterRecords: number;
  /** Every log record up to this index is in the snapshot. */
  #snapshotIndex = 0;
  /** Writes appended to the log and not yet kept in memory (a snapshot must include them). */
  readonly #inFlight = new Set<StoredEntry>();
  /** Compactions run one at a time, in order (they share the snapshot's temporary file). */
  #compactions: Promise<unknown> = Promise.resolve();
  #backgroundCompaction = false;
  /** Called after each fdatasync'ed append with its duration in milliseconds. */
  onSynced: ((durationMs: number) => void) | undefined;
  /** Called when the log fails (the member must stop: fail-stop, DESIGN.md §6). */
  onFailure: ((error: Error) => void) | undefined;

  private constructor(
    log: WriteAheadLog | undefined,
    snapshotPath?: string,
    compactAfterRecords = DEFAULT_COMPACT_AFTER_RECORDS,
  ) {
    this.#log = log;
    this.#snapshotPath = snapshotPath;
    this.#compactAfterRecords = compactAfterRecords;
  }

  /**
   * Opens (or creates) the store's log in `directory`, loads its snapshot (`<directory>.snapshot`)
   * and replays the log after it.
   *
   * @throws WalLockedError, WalCorruptionError (see `@x/wal`), QuorumSnapshotCorruptionError and
   *   decode errors for a damaged log or snapshot, and an Error when the log no longer holds the
   *   entries right after the snapshot.
   */
  static async open(
    directory: string,
    options: QuorumReplicaStoreOptions = {},
  ): Promise<QuorumReplicaStore> {
    const snapshotPath = `${directory}.snapshot`;
    const snapshot = await readQuorumSnapshot(snapshotPath);
    const log = await WriteAheadLog.open(
      directory,
      options.maxSegmentBytes === undefined ? {} : { maxSegmentBytes: options.maxSegmentBytes },
    );
    const store = new QuorumReplicaStore(log, snapshotPath, options.compactAfterRecords);
    try {
      if (snapshot !== undefined) {
        for (const { key, stored } of snapshot.entries) store.#keep(key, stored);
        store.#collectionHorizon = snapshot.horizon;
        store.#snapshotIndex = snapshot.index;
      }
      const from = store.#snapshotIndex + 1;
      if (log.firstIndex > from && log.lastIndex >= log.firstIndex) {
        throw new Error(
          `${directory}: the log starts at ${log.firstIndex}, after the snapshot's ${store.#snapshotIndex}: entries are missing`,
        );
      }
      for await (const entry of log.entries(Math.max(from, log.firstIndex))) {
        const { key, stored } = decodeStoredRecord(entry.payload);
        store.#keep(key, stored);
      }
    } catch (error) {
      await log.close();
      throw error;
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
   * A value of a key this member holds no value of (nothing, or a tombstone), at or below the
   * collection horizon, may be an old value of a deleted key whose tombstone was collected here:
   * sent to this member, it is
   * refused; pulled by its own anti-entropy round from a peer's current state, it is stored (no
   * member holds an old value of a collected key, see {@link collectTombstones}). A tombstone
   * this member collected recently is not stored again (a peer that has not collected it yet
   * still sends it); any other tombstone is stored: a tombstone brings nothing back.
   *
   * @param origin `sent` (default) or `pulled`.
   * @returns whether the value was newer and stored.
   * @throws BelowCollectionHorizonError for a refused write; (rejects) WalFailedError when the
   *   log failed: the member must stop (fail-stop).
   */
  async write(
    key: ByteString,
    incoming: StoredValue,
    origin: WriteOrigin = 'sent',
  ): Promise<boolean> {
    const current = this.#values.get(key);
    if (compareValueVersions(incoming.version, current?.version) <= 0) return false;
    // A key held as a tombstone is as unprotected as a key not held: an older tombstone sent late,
    // after this member collected the key and forgot it, is stored again, and an older value
    // behind it would then pass for newer.
    if (
      (current === undefined || current.value === null) &&
      this.#collectionHorizon !== undefined &&
      compareValueVersions(incoming.version, this.#collectionHorizon) <= 0
    ) {
      if (incoming.value === null) {
        if (this.wasCollected(key, incoming.version)) return false;
      } else if (origin === 'sent') {
        throw new BelowCollectionHorizonError(key, encodeValueVersion(this.#collectionHorizon));
      }
    }
    if (this.#log !== undefined) {
      const started = performance.now();
      const pending: StoredEntry = { key, stored: incoming };
      this.#inFlight.add(pending);
      try {
        await this.#log.append({
          generation: RECORD_GENERATION,
          payload: encodeStoredRecord(key, incoming),
        });
      } catch (error) {
        this.#inFlight.delete(pending);
        this.onFailure?.(error as Error);
        throw error;
      }
      this.#inFlight.delete(pending);
      this.onSynced?.(performance.now() - started);
    }
    // Another write of the key may have been stored while this one was being synced.
    this.#keep(key, incoming);
    this.#compactIfDue();
    return true;
  }

  /** Index of the last log record in the snapshot (0: no snapshot yet). */
  get snapshotIndex(): number {
    return this.#snapshotIndex;
  }

  /** The log's segment files now: what compaction bounds. */
  logSegments(): number {
    return this.#log?.segments().length ?? 0;
  }

  /**
   * Writes a snapshot of every entry as of the log's last record (entries still being appended
   * included) and deletes the log's whole segments below it. Resolves with the segments deleted.
   *
   * @throws (rejects) on a failed write or sync: the member must stop (fail-stop).
   */
  compact(): Promise<number> {
    const run = this.#compactions.then(() => this.#compactNow());
    this.#compactions = run.catch(() => undefined);
    return run;
  }

  async #compactNow(): Promise<number> {
    const log = this.#log;
    if (log === undefined || this.#snapshotPath === undefined) return 0;
    // Taken synchronously: every record up to `index` is kept in memory or still in flight.
    const index = log.lastIndex;
    const entries = new Map<ByteString, StoredValue>();
    this.#values.scan('', undefined, (key, stored) => {
      entries.set(key, stored);
      return true;
    });
    for (const { key, stored } of this.#inFlight) {
      entries.set(key, newer(entries.get(key), stored, compareValueVersions) as StoredValue);
    }
    await writeQuorumSnapshot(this.#snapshotPath, {
      index,
      horizon: this.#collectionHorizon,
      entries: [...entries].map(([key, stored]) => ({ key, stored })),
    });
    this.#snapshotIndex = Math.max(this.#snapshotIndex, index);
    return log.releaseBelow(index + 1);
  }

  /** Starts a compaction in the background once enough records follow the snapshot. */
  #compactIfDue(): void {
    const log = this.#log;
    if (log === undefined || this.#backgroundCompaction) return;
    const threshold = Math.max(this.#compactAfterRecords, 2 * this.#values.size);
    if (log.lastIndex - this.#snapshotIndex < threshold) return;
    this.#backgroundCompaction = true;
    this.compact()
      .then(
        () => undefined,
        (error: unknown) => this.onFailure?.(error as Error),
      )
      .finally(() => {
        this.#backgroundCompaction = false;
      });
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

  /** The newest collected tombstone's version, or `undefined` when none was collected. */
  get collectionHorizon(): ValueVersion | undefined {
    return this.#collectionHorizon;
  }

  /** Number of tombstones held. */
  get tombstones(): number {
    return this.#tombstoneHolders.size;
  }

  /**
   * Whether this member collected a tombstone of `key` at `version` or newer and still remembers
   * it (some peer may still hold it).
   */
  wasCollected(key: ByteString, version: ValueVersion): boolean {
    const collected = this.#collectedKeys.get(key);
    return collected !== undefined && compareValueVersions(collected.version, version) >= 0;
  }

  /**
   * Anti-entropy saw `peer`'s entries: `peerVersionOf` gives its version of a key this member
   * collected (`undefined`: none). A peer that no longer holds the collected tombstone (it has
   * nothing, or something newer) will not send it back; once no peer holds it, the key is
   * forgotten.
   */
  observeCollected(
    peer: string,
    peers: readonly string[],
    peerVersionOf: (key: ByteString, bucket: number) => ValueVersion | undefined,
  ): void {
    for (const [key, collected] of this.#collectedKeys) {
      const theirs = peerVersionOf(key, bucketOf(key));
      if (theirs === undefined || compareValueVersions(theirs, collected.version) > 0) {
        collected.gone.add(peer);
      }
      if (peers.every((other) => collected.gone.has(other))) this.#collectedKeys.delete(key);
    }
  }

  /**
   * Records that `peer` holds `key` at `version` or newer (anti-entropy saw it there, or the
   * peer stored it or refused it as collected): counts toward collecting this member's tombstone
   * of `key` if it is still the one at `version`.
   */
  confirmTombstone(peer: string, key: ByteString, version: ValueVersion): void {
    const holders = this.#tombstoneHolders.get(key);
    const current = this.#values.get(key);
    if (holders === undefined || current === undefined) return;
    if (compareValueVersions(version, current.version) >= 0) holders.add(peer);
  }

  /**
   * Removes every tombstone that each of `peers` is known to hold and whose timestamp is more than
   * `graceMs` older than `nowWallMs`, and raises the collection horizon to the newest one removed.
   *
   * Why this cannot bring a deleted key back (the argument in docs/guides/quorum-mode.md): every
   * member holds the tombstone or something newer when it is collected, so no member holds an
   * older value of the key; a member's version of a key only grows (or the key goes with its own
   * collection); and whatever is still in flight with an older version (a coordinator's write or
   * read repair, an anti-entropy push) is refused by the horizon wherever the key is gone. The age
   * bound keeps the horizon below fresh writes: a write's timestamp is at most the clock offset
   * plus a request's time old, so a fresh write of a new key is never refused. A peer that
   * collected the key answers a push of the tombstone with "collected" only if it did collect
   * it (it remembers the keys it collected until no peer holds them, see
   * {@link observeCollected}): once it collected, every member held the tombstone, so none holds
   * an older value to pull from.
   *
   * @returns how many tombstones were collected.
   */
  collectTombstones(peers: readonly string[], nowWallMs: number, graceMs: number): number {
    const olderThanWallMs = nowWallMs - graceMs;
    let collected = 0;
    for (const [key, holders] of this.#tombstoneHolders) {
      const stored = this.#values.get(key) as StoredValue;
      if (stored.version.timestamp.wallMs >= olderThanWallMs) continue;
      if (!peers.every((peer) => holders.has(peer))) continue;
      this.#tombstoneHolders.delete(key);
      this.#collectedKeys.set(key, { version: stored.version, gone: new Set() });
      this.#values.delete(key);
      const hash = entryHash(key, stored);
      this.#bucketKeys[hash.bucket]?.delete(key);
      this.#xor(hash.bucket, hash);
      if (compareValueVersions(stored.version, this.#collectionHorizon) > 0) {
        this.#collectionHorizon = stored.version;
      }
      collected++;
    }
    return collected;
  }

  /** Waits for a running compaction, then closes the log. */
  async close(): Promise<void> {
    await this.#compactions;
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
      // Holders of the old version say nothing about the new one.
      if (kept.value === null) this.#tombstoneHolders.set(key, new Set());
      else this.#tombstoneHolders.delete(key);
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
