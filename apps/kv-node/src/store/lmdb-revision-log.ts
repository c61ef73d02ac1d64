/**
 * The revision log (which keys each revision changed, see `revision-log.ts`) in an LMDB database
 * keyed by revision, with the revisions logged since the last commit held in memory: a restart
 * reads three counters, not the log, and the heap holds at most one commit's worth of it.
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
import type { ChangeLog } from './revision-log.js';
import { RevisionLog } from './revision-log.js';

/** A revision as a key that sorts in revision order: 8 bytes, big-endian. */
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

/** What LMDB holds, as the last commit left it. */
export interface CommittedRevisionLog {
  /** The oldest revision the database holds (or the next one when it holds none). */
  firstRevision: number;
  /** The newest revision the database holds. */
  lastRevision: number;
  /** Number of key changes the database holds. */
  changeCount: number;
}

function* committedRevisions(
  db: Database<Buffer, Buffer>,
  transaction: Transaction,
): Generator<[number, Uint8Array]> {
  for (const { key, value } of db.getRange({ transaction })) yield [revisionOfKey(key), value];
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
   * What a database written before the counts were saved holds: its first and last revision and
   * its change count, read once (each value's count only).
   */
  static countStored(db: Database<Buffer, Buffer>, firstRevision: number): CommittedRevisionLog {
    let lastRevision = firstRevision - 1;
    let changeCount = 0;
    for (const { key, value } of db.getRange({})) {
      lastRevision = revisionOfKey(key);
      changeCount += keyCountOf(value);
    }
    return { firstRevision, lastRevision, changeCount };
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
    if (this.#inLmdb(revision)) {
      const bytes = this.#db.get(revisionKey(revision));
      return bytes === undefined ? [] : decodeKeys(bytes);
    }
    return this.#pending.keysAt(revision);
  }

  dropThrough(revision: number, visit: (key: ByteString) => void): void {
    if (revision < this.#firstRevision) return;
    if (!this.#cleared && this.#firstRevision <= this.#committed.lastRevision) {
      const end = Math.min(revision, this.#committed.lastRevision) + 1;
      // Read as visited: a compaction of a million revisions never holds them all.
      for (const { value } of this.#db.getRange({
        start: revisionKey(this.#firstRevision),
        end: revisionKey(end),
      })) {
        const keys = decodeKeys(value);
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
      for (const { key, value } of this.#db.getRange({ start: revisionKey(this.#firstRevision) })) {
        visit(revisionOfKey(key), decodeKeys(value));
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
    return committedRevisions(this.#db, transaction);
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
  }

  /**
   * Copies what changed since the last commit into the write transaction the caller is running:
   * the new revisions, and the removal of those compaction dropped (or of all, after a reset).
   */
  writePending(): void {
    if (this.#cleared) this.#db.clearSync();
    else if (this.#committed.firstRevision < this.#firstRevision) {
      const end = Math.min(this.#firstRevision, this.#committed.lastRevision + 1);
      for (const key of this.#db.getKeys({ end: revisionKey(end) })) void this.#db.remove(key);
    }
    this.#pending.forEachRevision((revision, keys) => {
      void this.#db.put(revisionKey(revision), encodeChangedKeys(keys));
    });
  }

  /** What LMDB holds once the transaction of {@link writePending} committed. */
  get afterCommit(): CommittedRevisionLog {
    return {
      firstRevision: this.#firstRevision,
      lastRevision: this.lastRevision,
      changeCount: this.changeCount,
    };
  }

  /** Forgets the pending revisions once the transaction holding them committed. */
  committed(): void {
    this.#committed = this.afterCommit;
    this.#committedChangesKept = this.#committed.changeCount;
    this.#pending = new RevisionLog(this.#committed.lastRevision + 1);
    this.#cleared = false;
  }

  /** Whether `revision` (logged) is read from LMDB rather than from the pending revisions. */
  #inLmdb(revision: number): boolean {
    return !this.#cleared && revision <= this.#committed.lastRevision;
  }
}
