/**
 * A snapshot installed into the LMDB state store's spare set of databases, a bounded batch per
 * write transaction, as the decoder hands the records over (see docs/design.md, "Installing a
 * snapshot in bounded batches"). The meta record names the live set, and nothing here writes it:
 * until the state store's next commit flips it, a crash or a refused snapshot leaves the live
 * state as it was, and the half-filled spare set is emptied (here on abandon, or on the next
 * open). Memory: one batch of records, at most {@link InstallBatchLimits} of them, and the block
 * of revisions being gathered (`revision-blocks.ts`).
 */

import type { Database, RootDatabase } from 'lmdb';
import type { ByteString } from './byte-string.js';
import type { KeyHistory } from './key-history.js';
import { keyBytes } from './lmdb-key-map.js';
import { BinaryWriter } from '../codec/binary-writer.js';
import { blockKey, blockOf, writeBlockEntry } from './revision-blocks.js';
import { keyHistoryCodec, packedEntryCodec } from './lmdb-value-codecs.js';
import type { PackedEntry } from './packed-entry.js';
import type { InstalledMaps, StateInstall } from './state-store.js';

/** One set of the state's data databases (the state store keeps two, see the module comment). */
export interface LmdbDataSet {
  keys: Database<Buffer, Buffer>;
  history: Database<Buffer, Buffer>;
  entryLeases: Database<Buffer, Buffer>;
  changes: Database<Buffer, Buffer>;
}

/** The databases of a set, in a fixed order. */
export function databasesOf(set: LmdbDataSet): Database<Buffer, Buffer>[] {
  return [set.keys, set.history, set.entryLeases, set.changes];
}

/**
 * Empties every database of `set` that holds anything, in one write transaction (a no-op when
 * all are empty).
 */
export function emptyDataSet(root: RootDatabase, set: LmdbDataSet): void {
  const holding = databasesOf(set).filter(
    (db) => (db.getStats() as { entryCount: number }).entryCount > 0,
  );
  if (holding.length === 0) return;
  root.transactionSync(() => {
    for (const db of holding) db.clearSync();
  });
}

/** How large a write transaction of an install grows before it commits. */
export interface InstallBatchLimits {
  /** Records (keys, histories, revisions) per transaction. */
  maxRecords: number;
  /** Bytes of keys and values per transaction (a few large values end a batch early). */
  maxBytes: number;
}

/** About 10,000 records, and never more than 16 MiB of them, per write transaction. */
export const DEFAULT_INSTALL_BATCH: InstallBatchLimits = {
  maxRecords: 10_000,
  maxBytes: 16 * 1024 * 1024,
};

/** What the state store does when the install ends (see {@link LmdbSnapshotInstall}). */
export interface InstallEnds {
  /** Every record is written: the store's maps switch to the set. */
  adopted(installed: InstalledMaps): void;
  /** Abandoned: the set was emptied. */
  abandoned(): void;
}

/** See the module comment. */
export class LmdbSnapshotInstall implements StateInstall {
  readonly #root: RootDatabase;
  readonly #set: LmdbDataSet;
  readonly #limits: InstallBatchLimits;
  readonly #ends: InstallEnds;
  /** The batch being gathered: where each record goes, its key and its value. */
  #databases: Database<Buffer, Buffer>[] = [];
  #keys: Buffer[] = [];
  #values: Buffer[] = [];
  #batchBytes = 0;
  #batchesWritten = 0;
  #ended = false;
  /** The block of revisions being gathered (a record of the batch once the next block starts). */
  #block = -1;
  #blockWriter: BinaryWriter | undefined;

  /**
   * @param root the environment.
   * @param set the spare set, empty.
   * @param limits how large a batch grows.
   * @param ends what the store does when the install ends.
   */
  constructor(root: RootDatabase, set: LmdbDataSet, limits: InstallBatchLimits, ends: InstallEnds) {
    this.#root = root;
    this.#set = set;
    this.#limits = limits;
    this.#ends = ends;
  }

  /** Number of batches committed so far. */
  get batchesWritten(): number {
    return this.#batchesWritten;
  }

  key(key: ByteString, packed: PackedEntry): void {
    this.#add(this.#set.keys, keyBytes(key), packedEntryCodec.encode(packed));
  }

  history(key: ByteString, records: KeyHistory): void {
    this.#add(this.#set.history, keyBytes(key), keyHistoryCodec.encode(records));
  }

  change(revision: number, keys: readonly ByteString[]): void {
    this.#checkOpen();
    const block = blockOf(revision);
    if (block !== this.#block) {
      this.#addBlock();
      this.#block = block;
      this.#blockWriter = new BinaryWriter(4096);
    }
    writeBlockEntry(this.#blockWriter as BinaryWriter, revision, keys);
  }

  adopt(installed: InstalledMaps): void {
    this.#checkOpen();
    this.#addBlock();
    this.#writeBatch();
    this.#ended = true;
    this.#ends.adopted(installed);
  }

  abandon(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#databases = [];
    this.#keys = [];
    this.#values = [];
    this.#blockWriter = undefined;
    try {
      emptyDataSet(this.#root, this.#set);
    } finally {
      this.#ends.abandoned();
    }
  }

  #checkOpen(): void {
    if (this.#ended) throw new Error('this snapshot install has ended');
  }

  /** Adds the block being gathered, if any, to the batch. */
  #addBlock(): void {
    const writer = this.#blockWriter;
    if (writer === undefined) return;
    this.#blockWriter = undefined;
    this.#add(this.#set.changes, blockKey(this.#block), Buffer.from(writer.finish()));
  }

  #add(db: Database<Buffer, Buffer>, key: Buffer, value: Buffer): void {
    this.#checkOpen();
    this.#databases.push(db);
    this.#keys.push(key);
    this.#values.push(value);
    this.#batchBytes += key.length + value.length;
    if (this.#keys.length >= this.#limits.maxRecords || this.#batchBytes >= this.#limits.maxBytes) {
      this.#writeBatch();
    }
  }

  /**
   * Commits the batch. Each database receives its records in key order into an empty database
   * (the records were checked), so they are appended: LMDB fills its pages whole and never
   * searches for the place of a key; a record out of order would fail the append.
   */
  #writeBatch(): void {
    if (this.#keys.length === 0) return;
    const databases = this.#databases;
    const keys = this.#keys;
    const values = this.#values;
    this.#databases = [];
    this.#keys = [];
    this.#values = [];
    this.#batchBytes = 0;
    this.#root.transactionSync(() => {
      for (let index = 0; index < keys.length; index++) {
        (databases[index] as Database<Buffer, Buffer>).putSync(
          keys[index] as Buffer,
          values[index] as Buffer,
          { append: true },
        );
      }
    });
    this.#batchesWritten++;
  }
}
