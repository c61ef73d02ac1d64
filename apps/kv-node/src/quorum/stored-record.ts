/**
 * The log record of one stored value: `[key length u32][key bytes][version length u16][version]
 * [tag u8: 0 tombstone, 1 value][value bytes]`. Keys and values are byte strings (latin1).
 */

import type { ByteString } from '../store/byte-string.js';
import { decodeValueVersion, encodeValueVersion } from './value-version.js';
import type { StoredValue } from './value-version.js';

/** Encodes a key and its stored value for the write-ahead log. */
export function encodeStoredRecord(key: ByteString, stored: StoredValue): Uint8Array {
  const version = Buffer.from(encodeValueVersion(stored.version), 'utf8');
  const value = stored.value === null ? Buffer.alloc(0) : Buffer.from(stored.value, 'latin1');
  const record = Buffer.alloc(4 + key.length + 2 + version.length + 1 + value.length);
  let offset = record.writeUInt32LE(key.length, 0);
  offset += record.write(key, offset, 'latin1');
  offset = record.writeUInt16LE(version.length, offset);
  offset += version.copy(record, offset);
  offset = record.writeUInt8(stored.value === null ? 0 : 1, offset);
  value.copy(record, offset);
  return record;
}

/** Decodes {@link encodeStoredRecord}'s form. @throws RangeError or TypeError when malformed. */
export function decodeStoredRecord(payload: Uint8Array): { key: ByteString; stored: StoredValue } {
  const record = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const keyLength = record.readUInt32LE(0);
  let offset = 4;
  const key = record.toString('latin1', offset, offset + keyLength);
  offset += keyLength;
  const versionLength = record.readUInt16LE(offset);
  offset += 2;
  const version = decodeValueVersion(record.toString('utf8', offset, offset + versionLength));
  offset += versionLength;
  const tag = record.readUInt8(offset);
  if (tag > 1 || key.length !== keyLength) throw new RangeError('malformed quorum-mode record');
  const value = tag === 0 ? null : record.toString('latin1', offset + 1);
  return { key, stored: { value, version } };
}
