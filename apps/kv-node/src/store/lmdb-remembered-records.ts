/**
 * The idempotency table in an LMDB database of its own (layout 4 of `lmdb-state-store.ts`): one
 * record per remembered id, keyed by its number in the table's queue (8 bytes, big-endian, so
 * LMDB's order is the table's), valued the id and its result as a snapshot encodes them. A commit
 * writes the ids numbered since the last commit and deletes those below the table's first
 * number (expired, or numbered anew): the records a commit changes are about the ids the commands
 * since the last one remembered and expired, not the whole table (see `RememberedJournal`).
 */

import type { Database } from 'lmdb';
import { BinaryReader, MalformedEncodingError } from '../codec/binary-reader.js';
import { BinaryWriter } from '../codec/binary-writer.js';
import { decodeResponseOp, encodeResponseOp } from '../codec/result-codec.js';
import type { RememberedJournal, RememberedResult } from './idempotency-table.js';

function sequenceKey(sequence: number): Buffer {
  const key = Buffer.allocUnsafe(8);
  key.writeBigUInt64BE(BigInt(sequence));
  return key;
}

function encodeRecord(requestId: string, remembered: RememberedResult): Buffer {
  const writer = new BinaryWriter(64);
  writer.writeUtf8(requestId);
  writer.writeVarint(remembered.revision);
  writer.writeVarint(remembered.bodyFingerprint);
  encodeResponseOp(writer, remembered.result);
  return Buffer.from(writer.finishExact());
}

function decodeRecord(bytes: Uint8Array): [string, RememberedResult] {
  const reader = new BinaryReader(bytes);
  const requestId = reader.readUtf8();
  const revision = reader.readVarint();
  const bodyFingerprint = reader.readVarint();
  const result = decodeResponseOp(reader);
  if (result.type === 'range' || result.type === 'rangeNotRead') {
    throw new MalformedEncodingError('range result in idempotency table');
  }
  if (!reader.atEnd) throw new MalformedEncodingError('trailing bytes after a remembered id');
  return [requestId, { revision, bodyFingerprint, result }];
}

/** See the module comment. */
export class LmdbRememberedRecords {
  readonly #db: Database<Buffer, Buffer>;
  /** The table's next number as of the last commit: records from it on are not written yet. */
  #committedNext: number;

  /**
   * @param db the database, opened with binary keys and values.
   * @param committedNext the table's next number the meta record holds (0 when it holds none).
   */
  constructor(db: Database<Buffer, Buffer>, committedNext: number) {
    this.#db = db;
    this.#committedNext = committedNext;
  }

  /** The records committed, oldest first, with the number of the first (for `resume`). */
  read(firstSequence: number): { firstSequence: number; entries: [string, RememberedResult][] } {
    const entries: [string, RememberedResult][] = [];
    let expected = firstSequence;
    for (const { key, value } of this.#db.getRange({ start: sequenceKey(firstSequence) })) {
      const sequence = Number(Buffer.from(key).readBigUInt64BE());
      if (sequence !== expected) {
        throw new MalformedEncodingError(`remembered id ${sequence} where ${expected} was due`);
      }
      entries.push(decodeRecord(value));
      expected++;
    }
    return { firstSequence, entries };
  }

  /**
   * Within the caller's write transaction: deletes the records below `journal.firstSequence`
   * and writes those the journal numbered since the last commit; with no journal (the rest
   * holds the table), deletes every record.
   */
  writeChanges(journal: RememberedJournal | undefined): void {
    const below = journal === undefined ? Number.MAX_SAFE_INTEGER : journal.firstSequence;
    const expired = [...this.#db.getKeys({ end: sequenceKey(below) })];
    for (const key of expired) void this.#db.remove(key);
    if (journal === undefined) return;
    for (const [sequence, requestId, remembered] of journal.entriesFrom(this.#committedNext)) {
      void this.#db.put(sequenceKey(sequence), encodeRecord(requestId, remembered));
    }
  }

  /** After the transaction committed: the records now stand as of `journal`. */
  committed(journal: RememberedJournal | undefined): void {
    this.#committedNext = journal === undefined ? 0 : journal.nextSequence;
  }
}
