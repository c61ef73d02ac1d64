import type { FileHandle } from './file-system.js';
import {
  RECORD_HEADER_BYTES,
  SEGMENT_HEADER_BYTES,
  decodeRecord,
  emptyRecordHeader,
  decodeSegmentHeader,
  type RecordHeader,
} from './record-format.js';

const CHUNK_BYTES = 4 * 1024 * 1024;

/** What a scan of one segment found. */
export interface SegmentScan {
  /** First index and start time from the header, if the header is valid. */
  header: { firstIndex: number; startedAtWallMs: number } | undefined;
  /** File size in bytes. */
  size: number;
  /** Offset just past the last valid record (or the header). */
  validEnd: number;
  /** The first invalid bytes, if the valid records do not reach the end of the file. */
  invalid: { offset: number; reason: string } | undefined;
}

/**
 * Called for each valid record of a scan, in order: `record` (reused between calls) holds its
 * header, `offset` is its position in the file, and the record itself starts at `bytes[at]`.
 * `record` and `bytes` are the scan's own and valid only during the call.
 */
export type ScannedRecord = (
  record: Readonly<RecordHeader>,
  offset: number,
  bytes: Uint8Array,
  at: number,
) => void;

/**
 * Reads a segment front to back in large chunks (each byte once, apart from a record that
 * straddles a chunk's end, read again at the start of the next), checking the header and every
 * record's checksum and index, and reports each valid record through `onRecord`. Payloads are
 * never kept. Stops at the first invalid record: no record at or after it is reported.
 */
export async function scanSegment(
  handle: FileHandle,
  expectedFirstIndex: number,
  onRecord: ScannedRecord,
): Promise<SegmentScan> {
  const size = await handle.size();
  let buffer = new Uint8Array(Math.min(CHUNK_BYTES, Math.max(size, SEGMENT_HEADER_BYTES)));
  let view = new DataView(buffer.buffer);
  let bufferStart = 0; // file offset of buffer[0]
  let filled = await handle.read(buffer, 0, buffer.length, 0);

  const header = decodeSegmentHeader(buffer.subarray(0, filled), view, 0);
  if (typeof header === 'string') {
    return { header: undefined, size, validEnd: 0, invalid: { offset: 0, reason: header } };
  }
  if (header.firstIndex !== expectedFirstIndex) {
    return {
      header: undefined,
      size,
      validEnd: 0,
      invalid: {
        offset: 0,
        reason: `header says first index ${header.firstIndex}, name says ${expectedFirstIndex}`,
      },
    };
  }
  let position = SEGMENT_HEADER_BYTES;
  let expectedIndex = expectedFirstIndex;
  const record = emptyRecordHeader();
  while (position < size) {
    let at = position - bufferStart;
    // Make sure the whole record is in the buffer: slide the window, growing it for big records.
    if (at + RECORD_HEADER_BYTES > filled || at + recordLength(view, at, filled) > filled) {
      const wanted = Math.min(
        size - position,
        Math.max(CHUNK_BYTES, RECORD_HEADER_BYTES + peekLength(buffer, view, at, filled) + 8),
      );
      if (wanted > buffer.length) {
        buffer = new Uint8Array(wanted);
        view = new DataView(buffer.buffer);
      }
      bufferStart = position;
      filled = await handle.read(buffer, 0, Math.min(buffer.length, size - position), position);
      at = 0;
    }
    if (!decodeRecord(buffer, view, at, filled, record))
      return {
        header,
        size,
        validEnd: position,
        invalid: { offset: position, reason: 'invalid record (torn or corrupted)' },
      };
    if (record.index !== expectedIndex) {
      return {
        header,
        size,
        validEnd: position,
        invalid: {
          offset: position,
          reason: `record has index ${record.index}, expected ${expectedIndex}`,
        },
      };
    }
    onRecord(record, position, buffer, at);
    position += record.end - at;
    expectedIndex++;
  }
  return { header, size, validEnd: position, invalid: undefined };
}

function peekLength(buffer: Uint8Array, view: DataView, at: number, filled: number): number {
  return at + 8 <= filled && at + 8 <= buffer.length ? view.getUint32(at + 4, true) : 0;
}

function recordLength(view: DataView, at: number, filled: number): number {
  return at + 8 <= filled
    ? (RECORD_HEADER_BYTES + view.getUint32(at + 4, true) + 7) & ~7
    : RECORD_HEADER_BYTES;
}

/**
 * After an invalid record at `offset` holding (or preceding) entry `expectedIndex`, looks for a
 * later valid record written after that entry was already durable. Finding one proves the damage
 * hit synced data (corruption); otherwise the bad bytes are an unsynced, torn write.
 */
export async function findVouchingRecord(
  handle: FileHandle,
  offset: number,
  size: number,
  expectedIndex: number,
): Promise<number | undefined> {
  const length = size - offset;
  if (length <= 0) return undefined;
  const bytes = new Uint8Array(length);
  const filled = await handle.read(bytes, 0, length, offset);
  const view = new DataView(bytes.buffer);
  const record = emptyRecordHeader();
  for (let at = 8; at + RECORD_HEADER_BYTES <= filled; at += 8) {
    if (
      decodeRecord(bytes, view, at, filled, record) &&
      record.index > expectedIndex &&
      record.syncedIndex >= expectedIndex
    )
      return offset + at;
  }
  return undefined;
}
