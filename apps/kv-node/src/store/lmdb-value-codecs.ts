/**
 * How the store's values become LMDB's bytes: a packed entry is already flat bytes (one byte
 * per character); a key's history is its records in order, each a tag byte then a tombstone's
 * revision or a put's packed entry.
 */

import { BinaryReader, MalformedEncodingError } from '../codec/binary-reader.js';
import { BinaryWriter } from '../codec/binary-writer.js';
import type { KeyHistory } from './key-history.js';
import { isTombstone } from './key-history.js';
import type { ValueCodec } from './lmdb-key-map.js';
import type { PackedEntry } from './packed-entry.js';

const TOMBSTONE = 0;
const PUT = 1;

/** A packed entry's bytes as they are. */
export const packedEntryCodec: ValueCodec<PackedEntry> = {
  encode: (entry) => Buffer.from(entry, 'latin1'),
  decode: (bytes) =>
    Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1'),
};

/** A lease id (a canonical decimal int64, so ASCII). */
export const leaseIdCodec: ValueCodec<string> = {
  encode: (id) => Buffer.from(id, 'latin1'),
  decode: (bytes) =>
    Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1'),
};

/** A key's superseded records (see `key-history.ts`). */
export const keyHistoryCodec: ValueCodec<KeyHistory> = {
  encode(history) {
    let capacity = 8;
    for (const record of history) capacity += isTombstone(record) ? 10 : record.length + 6;
    const writer = new BinaryWriter(capacity);
    for (const record of history) {
      if (isTombstone(record)) {
        writer.writeByte(TOMBSTONE);
        writer.writeVarint(record);
      } else {
        writer.writeByte(PUT);
        writer.writeByteString(record);
      }
    }
    const bytes = writer.finish();
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  },
  decode(bytes) {
    const reader = new BinaryReader(bytes);
    const history: KeyHistory = [];
    while (!reader.atEnd) {
      const tag = reader.readByte();
      if (tag === TOMBSTONE) history.push(reader.readVarint());
      else if (tag === PUT) history.push(reader.readByteString());
      else throw new MalformedEncodingError(`history record with tag ${tag}`);
    }
    return history;
  },
};
