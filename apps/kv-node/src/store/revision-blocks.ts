/**
 * How the LMDB revision log stores revisions (`lmdb-revision-log.ts`): since state layout 3, the
 * changes of up to {@link REVISIONS_PER_BLOCK} consecutive revisions in one record, keyed by
 * block, so a compaction deletes one record per block instead of one per revision (lmdb-js has no
 * range delete: each delete is a call). Layouts 1 and 2 stored a record per revision, keyed by
 * the revision; those records are still read (a file keeps them until compaction drops them),
 * and their keys (first byte 0) sort before every block key (first byte 1), so the database in
 * key order is the log in revision order.
 *
 * A block's value is its revisions in order, each its revision (varint), then its keys as a
 * snapshot holds them (their count, then each length-prefixed): a snapshot copies each revision's
 * part as it is.
 */

import { BinaryReader } from '../codec/binary-reader.js';
import type { BinaryWriter } from '../codec/binary-writer.js';
import type { ByteString } from './byte-string.js';

/** Revisions per block: about what a compaction deletes with one LMDB call. */
export const REVISIONS_PER_BLOCK = 1024;

const BLOCK_MARK = 1;

/** The block `revision` belongs to. */
export function blockOf(revision: number): number {
  return Math.floor(revision / REVISIONS_PER_BLOCK);
}

/** A block's key: the mark, a zero byte, then the block number in 6 bytes, big-endian. */
export function blockKey(block: number): Buffer {
  const key = Buffer.alloc(8);
  key[0] = BLOCK_MARK;
  key.writeUIntBE(block, 2, 6);
  return key;
}

/** Whether a stored key is a block's (else a revision's, from layouts 1 and 2). */
export function isBlockKey(key: Uint8Array): boolean {
  return key[0] === BLOCK_MARK;
}

/** Appends one revision to a block being written. */
export function writeBlockEntry(
  writer: BinaryWriter,
  revision: number,
  keys: readonly ByteString[],
): void {
  writer.writeVarint(revision);
  writer.writeVarint(keys.length);
  for (const key of keys) writer.writeByteString(key);
}

/** Moves `reader` past one revision's keys. */
function skipKeys(reader: BinaryReader): void {
  for (let count = reader.readVarint(); count > 0; count--) reader.readBytes();
}

/**
 * Each revision of a stored block, in order, with its keys' bytes (a view of `bytes`: decode or
 * copy them before `bytes` is reused).
 */
export function* blockEntries(bytes: Uint8Array): Generator<[number, Uint8Array]> {
  const reader = new BinaryReader(bytes);
  while (!reader.atEnd) {
    const revision = reader.readVarint();
    const start = reader.offset;
    skipKeys(reader);
    yield [revision, bytes.subarray(start, reader.offset)];
  }
}

/** The part of a stored block from its first revision at or after `from` on (a view). */
export function blockFrom(bytes: Uint8Array, from: number): Uint8Array {
  const reader = new BinaryReader(bytes);
  while (!reader.atEnd) {
    const start = reader.offset;
    if (reader.readVarint() >= from) return bytes.subarray(start);
    skipKeys(reader);
  }
  return bytes.subarray(bytes.length);
}
