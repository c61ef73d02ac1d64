/**
 * The revision log (which keys each revision changed, see `revision-log.ts`) in an LMDB database
 * of blocks of consecutive revisions (`revision-blocks.ts`; a record per revision in files of
 * layouts 1 and 2, still read), with the revisions logged since the last commit held in memory: a
 * restart reads a few counters, not the log, and the heap holds at most one commit's worth of it.
 *
 * Reads (`keysAt`, which watch catch-up and `changesAt` use) go to LMDB for committed revisions;
 * compaction (`dropThrough`) reads the dropped revisions from LMDB as it visits them and deletes
 * them in the next commit, in the same LMDB transaction as the keys, the histories and the applied
 * index (`lmdb-state-store.ts`), so the log on disk always matches the maps it indexes.
 */

import type { Database, Transaction } from 'lmdb';
import { BinaryReader } from '../codec/binary-reader.js';
import { BinaryWriter } from '../codec/binary-writer.js';
import type { ByteString } from './byte-string.js';
import {
  blockEntries,
  blockFrom,
  blockKey,
  blockOf,
  isBlockKey,
  writeBlockEntry,
} from './revision-blocks.js';
import type { ChangeLog } from './revision-log.js';
import { RevisionLog } from './revision-log.js';

/**
 * A revision as the key of its own record (layouts 1 and 2), sorting in revision order: 8 bytes,
 * big-endian.
 */
export function revisionKey(revision: number): Buffer {
  const key = Buffer.alloc(8);
  key.writeUIntBE(revision, 2, 6);
  return key;
}

function revisionOfKey(key: Uint8Array): number {
  // Read off the bytes: wrapping each key in a Buffer to call readUIntBE cost more than the read.
  let revision = 0;
  for (let index = 2; index < 8; index++) revision = revision * 256 + (key[index] as number);
  return revision;
}

/**
 * A revision's keys as stored: their count, then each key, length-prefixed: the bytes a snapshot
 * holds for them too (`kv-snapshot-codec.ts`), so a snapshot copies them as they are.
 */
export function encodeChangedKeys(keys: readonly ByteString[]): Buffer {
  let capacity = 8;
  for (const key of keys) capacity += key.length + 4;
  const writer = new BinaryWriter(capacity);
  writer.writeVarint(keys.length);
  for (const key of keys) writer.writeByteString(key);
  return Buffer.from(writer.finishExact());
}

function decodeKeys(bytes: Uint8Array): ByteString[] {
  const reader = new BinaryReader(bytes);
  const keys: ByteString[] = [];
  for (let count = reader.readVarint(); count > 0; count--) keys.push(reader.readByteString());
  return keys;
}

/** How many keys a stored revision changed, without decoding them. */
function keyCountOf(bytes: Uint8Array): number {
  return new BinaryReader(bytes).readVarint();
}

/**
 * Every revision `db` holds, in order, with its keys' bytes (valid while the iteration is at it):
 * the records of revisions of their own first, then the blocks (their keys sort so). A block is
 * copied before its revisions are handed over one by one: other reads may come in between.
 */
function* storedRevisions(
  db: Database<Buffer, Buffer>,
  transaction?: Transaction,
): Generator<[number, Uint8Array]> {
  for (const { key, value } of db.getRange(transaction === undefined ? {} : { transaction })) {
    if (isBlockKey(key)) yield* blockEntries(Buffer.from(value));
    else yield [revisionOfKey(key), value];
  }
}

/** What LMDB holds, as the last commit left it. */
export interface CommittedRevisionLog {
  /** The oldest revision the database holds (or the next one when it holds none). */
  firstRevision: number;
  /** The newest revision the database holds. */
  lastRevision: number;
  /** Number of key changes the database holds. */
  changeCount: number;
  /**
   * The newest revision stored in a record of its own (layouts 1 and 2); those after it are in
   * blocks. 0 when none is.
   */
  ownRecordsThrough: number;
}

/** A block read for `keysAt`: each of its revisions' keys, by revision. */
interface CachedBlock {
  block: number;
  keys: Map<number, Uint8Array>;
}

/** See the module comment. */
export class LmdbRevisionLog implements ChangeLog {
  /** Replaced only when a snapshot install's database takes over (see `switchTo`). */
  #db: Database<Buffer, Buffer>;
  /** What LMDB holds: revisions `#committed.firstRevision` through `#committed.lastRevision`. */
  #committed: CommittedRevisionLog;
  /** The oldest revision still logged; those below it in LMDB go at the next commit. */
  #firstRevision: number;
  /** Changes of committed revisions at or after `#firstRevision`. */
  #committedChangesKept: number;
  /** The revisions logged since the last commit (all of them once `#cleared`). */
  #pending: RevisionLog;
  /** Whether LMDB's revisions no longer count (a reset not yet committed). */
  #cleared = false;
  /**
   * The last block `keysAt` read, decoded into its revisions: a watch catching up reads a block
   * once, not once per revision. Valid until the next commit.
   */
  #cachedBlock: CachedBlock | undefined;

  /**
   * @param db the database, opened with binary keys and values.
   * @param committed what it holds (saved with the applied index).
   */
  constructor(db: Database<Buffer, Buffer>, committed: CommittedRevisionLog) {
    this.#db = db;
    this.#committed = { ...committed };
    this.#firstRevision = committed.firstRevision;
    this.#committedChangesKept = committed.changeCount;
    this.#pending = new RevisionLog(committed.lastRevision + 1);
  }

  /**
   * What a database written before the counts were saved holds: its first and last revision,
   * its change count and the last revision with a record of its own, read once (each value's
   * count only).
   */
  static countStored(db: Database<Buffer, Buffer>, firstRevision: number): CommittedRevisionLog {
    let lastRevision = firstRevision - 1;
    let changeCount = 0;
    let ownRecordsThrough = 0;
    for (const { key, value } of db.getRange({})) {
      if (isBlockKey(key)) {
        for (const [revision, keys] of blockEntries(value)) {
          lastRevision = revision;
          changeCount += keyCountOf(keys);
        }
      } else {
        lastRevision = revisionOfKey(key);
        ownRecordsThrough = lastRevision;
        changeCount += keyCountOf(value);
      }
    }
    return { firstRevision, lastRevision, changeCount, ownRecordsThrough };
  }

  get firstRevision(): number {
    return this.#firstRevision;
  }

  get lastRevision(): number {
    return this.#pending.lastRevision;
  }

  get changeCount(): number {
    return this.#committedChangesKept + this.#pending.changeCount;
  }

  /** Number of revisions logged since the last commit (held in memory). */
  get pendingRevisionCount(): number {
    return this.#pending.lastRevision - this.#pending.firstRevision + 1;
  }

  record(revision: number, key: ByteString): void {
    this.#pending.record(revision, key);
  }

  keysAt(revision: number): ByteString[] {
    if (revision < this.#firstRevision || revision > this.lastRevision) return [];
    if (!this.#inLmdb(revision)) return this.#pending.keysAt(revision);
    if (revision <= this.#committed.ownRecordsThrough) {
      const bytes = this.#db.get(revisionKey(revision));
      return bytes === undefined ? [] : decodeKeys(bytes);
    }
    const keys = this.#blockRead(blockOf(revision)).keys.get(revision);
    return keys === undefined ? [] : decodeKeys(keys);
  }

  dropThrough(revision: number, visit: (key: ByteString) => void): void {
    if (revision < this.#firstRevision) return;
    if (!this.#cleared && this.#firstRevision <= this.#committed.lastRevision) {
      // Read as visited: a compaction of a million revisions never holds them all.
      const to = Math.min(revision, this.#committed.lastRevision);
      for (const [, stored] of this.#storedBetween(this.#firstRevision, to)) {
        const keys = decodeKeys(stored);
        this.#committedChangesKept -= keys.length;
        for (const key of keys) visit(key);
      }
    }
    this.#pending.dropThrough(revision, visit);
    this.#firstRevision = Math.max(this.#firstRevision, revision + 1);
  }

  forEachRevision(visit: (revision: number, keys: ByteString[]) => void): void {
    if (!this.#cleared) {
      // From the oldest revision still logged: those compaction dropped wait for the commit.
      for (const [revision, stored] of this.#storedBetween(
        this.#firstRevision,
        this.#committed.lastRevision,
      )) {
        visit(revision, decodeKeys(stored));
      }
    }
    this.#pending.forEachRevision(visit);
  }

  reset(firstRevision: number): void {
    this.#pending = new RevisionLog(firstRevision);
    this.#firstRevision = firstRevision;
    this.#committedChangesKept = 0;
    this.#cleared = true;
  }

  /**
   * The committed revisions, oldest first, each with its keys as stored (see `encodeChangedKeys`: the
   * bytes a snapshot holds), read in `transaction` (a snapshot's read transaction) as iterated:
   * a snapshot copies them without decoding a key. Reads the database the log uses now.
   */
  committedEncodedRevisions(transaction: Transaction): Iterable<[number, Uint8Array]> {
    return storedRevisions(this.#db, transaction);
  }

  /**
   * Reads `db` from now on, which holds `committed` (a snapshot install's, just written): the
   * pending revisions and the previous database are forgotten.
   */
  switchTo(db: Database<Buffer, Buffer>, committed: CommittedRevisionLog): void {
    this.#db = db;
    this.#committed = { ...committed };
    this.#firstRevision = committed.firstRevision;
    this.#committedChangesKept = committed.changeCount;
    this.#pending = new RevisionLog(committed.lastRevision + 1);
    this.#cleared = false;
    this.#cachedBlock = undefined;
  }

  /**
   * Copies what changed since the last commit into the write transaction the caller is running:
   * the removal of the revisions compaction dropped (whole blocks with one delete each; the
   * block of the last one dropped rewritten with the revisions it keeps), or of all after a
   * reset, and the new revisions, appended to the last block LMDB holds and then in new blocks.
   */
  writePending(): void {
    const committed = this.#committed;
    /** A block this transaction rewrote already, for the new revisions to extend. */
    let rewritten: { block: number; bytes: Uint8Array } | undefined;
    if (this.#cleared) this.#db.clearSync();
    else if (committed.firstRevision < this.#firstRevision) {
      const keptFrom = Math.min(this.#firstRevision, committed.lastRevision + 1);
      const ownRecordsTo = Math.min(keptFrom - 1, committed.ownRecordsThrough);
      for (let revision = committed.firstRevision; revision <= ownRecordsTo; revision++) {
        void this.#db.remove(revisionKey(revision));
      }
      const firstInBlocks = Math.max(committed.firstRevision, committed.ownRecordsThrough + 1);
      if (firstInBlocks < keptFrom) {
        const lastDropped = blockOf(keptFrom - 1);
        for (let block = blockOf(firstInBlocks); block < lastDropped; block++) {
          void this.#db.remove(blockKey(block));
        }
        const stored = this.#db.get(blockKey(lastDropped));
        const kept =
          stored === undefined ? Buffer.alloc(0) : Buffer.from(blockFrom(stored, keptFrom));
        if (kept.length === 0) void this.#db.remove(blockKey(lastDropped));
        else void this.#db.put(blockKey(lastDropped), kept);
        rewritten = { block: lastDropped, bytes: kept };
      }
    }
    let block = -1;
    let writer: BinaryWriter | undefined;
    const putBlock = (): void => {
      if (writer !== undefined) void this.#db.put(blockKey(block), Buffer.from(writer.finish()));
    };
    this.#pending.forEachRevision((revision, keys) => {
      const revisionBlock = blockOf(revision);
      if (revisionBlock !== block) {
        // Only the first block of the new revisions can hold revisions already: extend it.
        const extended =
          writer === undefined ? this.#storedToExtend(revisionBlock, rewritten) : undefined;
        putBlock();
        block = revisionBlock;
        writer = new BinaryWriter(4096 + (extended?.length ?? 0));
        if (extended !== undefined) writer.writeEncoded(extended);
      }
      writeBlockEntry(writer as BinaryWriter, revision, keys);
    });
    putBlock();
  }

  /** What LMDB holds once the transaction of {@link writePending} committed. */
  get afterCommit(): CommittedRevisionLog {
    return {
      firstRevision: this.#firstRevision,
      lastRevision: this.lastRevision,
      changeCount: this.changeCount,
      ownRecordsThrough: this.#cleared ? 0 : this.#committed.ownRecordsThrough,
    };
  }

  /** Forgets the pending revisions once the transaction holding them committed. */
  committed(): void {
    this.#committed = this.afterCommit;
    this.#committedChangesKept = this.#committed.changeCount;
    this.#pending = new RevisionLog(this.#committed.lastRevision + 1);
    this.#cleared = false;
    this.#cachedBlock = undefined;
  }

  /** Whether `revision` (logged) is read from LMDB rather than from the pending revisions. */
  #inLmdb(revision: number): boolean {
    return !this.#cleared && revision <= this.#committed.lastRevision;
  }

  /** The committed revisions from `from` through `to`, in order, with their keys' bytes. */
  *#storedBetween(from: number, to: number): Generator<[number, Uint8Array]> {
    const ownRecordsTo = Math.min(to, this.#committed.ownRecordsThrough);
    if (from <= ownRecordsTo) {
      for (const { key, value } of this.#db.getRange({
        start: revisionKey(from),
        end: revisionKey(ownRecordsTo + 1),
      })) {
        yield [revisionOfKey(key), value];
      }
    }
    const firstInBlocks = Math.max(from, this.#committed.ownRecordsThrough + 1);
    if (firstInBlocks > to) return;
    for (const { value } of this.#db.getRange({
      start: blockKey(blockOf(firstInBlocks)),
      end: blockKey(blockOf(to) + 1),
    })) {
      // A copy: the caller reads LMDB between revisions (compaction trims each key's history).
      for (const [revision, keys] of blockEntries(Buffer.from(value))) {
        if (revision > to) return;
        if (revision >= firstInBlocks) yield [revision, keys];
      }
    }
  }

  /** Block `block` as LMDB holds it, decoded into its revisions (the last one read is kept). */
  #blockRead(block: number): CachedBlock {
    if (this.#cachedBlock?.block === block) return this.#cachedBlock;
    const stored = this.#db.get(blockKey(block));
    const keys = new Map<number, Uint8Array>();
    if (stored !== undefined) {
      // A copy of its own: the map outlives the read.
      for (const [revision, bytes] of blockEntries(Buffer.from(stored))) keys.set(revision, bytes);
    }
    this.#cachedBlock = { block, keys };
    return this.#cachedBlock;
  }

  /**
   * What the database holds of `block`, to extend with new revisions: the bytes this transaction
   * rewrote it with, or its stored bytes (the block of the last committed revision).
   */
  #storedToExtend(
    block: number,
    rewritten: { block: number; bytes: Uint8Array } | undefined,
  ): Uint8Array | undefined {
    if (this.#cleared) return undefined;
    if (rewritten?.block === block) return rewritten.bytes;
    if (this.#committed.lastRevision <= this.#committed.ownRecordsThrough) return undefined;
    if (blockOf(this.#committed.lastRevision) !== block) return undefined;
    return this.#db.get(blockKey(block));
  }
}
