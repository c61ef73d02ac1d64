import { crc32c } from './crc32c.js';

// On-disk format, version 1. All integers little-endian; 64-bit integers are stored as two 32-bit
// halves and must stay below 2^53 (JavaScript's safe integers).
//
// Segment header, 32 bytes:
//   0  magic "XWAL"          4  u16 version       6  u16 header size (32)
//   8  u64 first index      16  f64 wall-clock ms when the segment was started
//  24  u32 reserved (0)     28  u32 CRC-32C of bytes 0..28
//
// Record, 32-byte header + payload + zero padding to a multiple of 8 bytes:
//   0  u32 CRC-32C of bytes 4..32+payload length
//   4  u32 payload length    8  u16 entry type    10  u16 reserved (0)
//  12  u32 synced distance: index minus the highest index already durable when this record was
//      written (capped at 2^32-1); it lets recovery tell a torn write from corruption
//  16  u64 index            24  u64 generation   32  payload

/** Size of the segment header in bytes. */
export const SEGMENT_HEADER_BYTES = 32;
/** Size of a record header in bytes. */
export const RECORD_HEADER_BYTES = 32;
/** On-disk format version written and understood. */
export const FORMAT_VERSION = 1;
/** Largest entry type: the type is an unsigned 16-bit integer. */
export const MAX_ENTRY_TYPE = 0xffff;

const MAGIC = 0x4c415758; // "XWAL" read as a little-endian u32
const TWO_32 = 0x1_0000_0000;
const MAX_SYNCED_DISTANCE = 0xffff_ffff;

/** Bytes a record with a payload of `payloadLength` bytes occupies, padding included. */
export function recordSize(payloadLength: number): number {
  return (RECORD_HEADER_BYTES + payloadLength + 7) & ~7;
}

function setU64(view: DataView, at: number, value: number): void {
  view.setUint32(at, value >>> 0, true);
  view.setUint32(at + 4, Math.floor(value / TWO_32), true);
}

function getU64(view: DataView, at: number): number {
  return view.getUint32(at, true) + view.getUint32(at + 4, true) * TWO_32;
}

/** Writes a segment header at `at`. */
export function encodeSegmentHeader(
  bytes: Uint8Array,
  view: DataView,
  at: number,
  firstIndex: number,
  startedAtWallMs: number,
): void {
  view.setUint32(at, MAGIC, true);
  view.setUint16(at + 4, FORMAT_VERSION, true);
  view.setUint16(at + 6, SEGMENT_HEADER_BYTES, true);
  setU64(view, at + 8, firstIndex);
  view.setFloat64(at + 16, startedAtWallMs, true);
  view.setUint32(at + 24, 0, true);
  view.setUint32(at + 28, crc32c(bytes, at, at + 28), true);
}

/** A decoded segment header. */
export interface SegmentHeader {
  firstIndex: number;
  startedAtWallMs: number;
}

/** Decodes a segment header, or returns a reason why it is invalid. */
export function decodeSegmentHeader(
  bytes: Uint8Array,
  view: DataView,
  at: number,
): SegmentHeader | string {
  if (bytes.length - at < SEGMENT_HEADER_BYTES) return 'short segment header';
  if (view.getUint32(at + 28, true) !== crc32c(bytes, at, at + 28))
    return 'segment header checksum mismatch';
  if (view.getUint32(at, true) !== MAGIC) return 'not a segment (bad magic)';
  const version = view.getUint16(at + 4, true);
  if (version !== FORMAT_VERSION) return `unsupported format version ${version}`;
  return { firstIndex: getU64(view, at + 8), startedAtWallMs: view.getFloat64(at + 16, true) };
}

/**
 * Encodes one record at `at` (the caller made room for `recordSize(payload.length)` bytes) and
 * returns the offset just past it. Padding bytes are zeroed so equal logs are equal bytes.
 */
export function encodeRecord(
  bytes: Uint8Array,
  view: DataView,
  at: number,
  index: number,
  generation: number,
  type: number,
  payload: Uint8Array,
  syncedIndex: number,
): number {
  const length = payload.length;
  view.setUint32(at + 4, length, true);
  view.setUint32(at + 8, type, true); // type in the low 16 bits, reserved 0 in the high ones
  view.setUint32(at + 12, Math.min(index - syncedIndex, MAX_SYNCED_DISTANCE), true);
  setU64(view, at + 16, index);
  setU64(view, at + 24, generation);
  bytes.set(payload, at + RECORD_HEADER_BYTES);
  const end = at + RECORD_HEADER_BYTES + length;
  const padded = (end + 7) & ~7;
  for (let i = end; i < padded; i++) bytes[i] = 0;
  view.setUint32(at, crc32c(bytes, at + 4, end), true);
  return padded;
}

/** The header fields of a record that passed its checksum. */
export interface RecordHeader {
  /** Offset just past the record, padding included. */
  end: number;
  payloadLength: number;
  type: number;
  index: number;
  generation: number;
  /** Every entry up to this index was durable when the record was written. */
  syncedIndex: number;
}

/** A reusable `RecordHeader` for `decodeRecord` to fill (decoding allocates nothing). */
export function emptyRecordHeader(): RecordHeader {
  return { end: 0, payloadLength: 0, type: 0, index: 0, generation: 0, syncedIndex: 0 };
}

/**
 * Checks the record at `at` within `bytes[..limit)`; if it is a whole, valid record (length fits,
 * padding zero, checksum matches) fills `out` with its header and returns true.
 */
export function decodeRecord(
  bytes: Uint8Array,
  view: DataView,
  at: number,
  limit: number,
  out: RecordHeader,
): boolean {
  if (limit - at < RECORD_HEADER_BYTES) return false;
  const payloadLength = view.getUint32(at + 4, true);
  const typeWord = view.getUint32(at + 8, true);
  if (typeWord > MAX_ENTRY_TYPE) return false;
  const end = at + RECORD_HEADER_BYTES + payloadLength;
  const padded = (end + 7) & ~7;
  if (padded > limit || padded < end) return false;
  // Padding is outside the checksum but must be zero, so every byte of a record is checked.
  for (let i = end; i < padded; i++) if (bytes[i] !== 0) return false;
  if (view.getUint32(at, true) !== crc32c(bytes, at + 4, end)) return false;
  const index = getU64(view, at + 16);
  const distance = view.getUint32(at + 12, true);
  out.end = padded;
  out.payloadLength = payloadLength;
  out.type = typeWord;
  out.index = index;
  out.generation = getU64(view, at + 24);
  out.syncedIndex = distance === MAX_SYNCED_DISTANCE ? Number.NEGATIVE_INFINITY : index - distance;
  return true;
}
