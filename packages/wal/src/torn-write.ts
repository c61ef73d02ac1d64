// Telling a torn write from damage (DESIGN.md §6), as etcd's WAL decides: a write that never
// fully reached the disk leaves the file short or leaves whole sectors unwritten, and an unwritten
// sector reads as zeros. A complete record whose sectors all hold data yet whose checksum fails
// was damaged after it was written: that is corruption, never a tail to cut off.
import type { FileHandle } from './file-system.js';
import { RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES } from './record-format.js';

/** The default sector size: the smallest unit a disk writes atomically, in bytes. */
export const SECTOR_BYTES = 512;

const READ_CHUNK_BYTES = 64 * 1024;

/**
 * Whether the bytes of the invalid record at `offset` show a torn write: the file ends before the
 * record (by its own length field) does, or some sector's share of the record is all zeros.
 * Reads at most the record's bytes, in 64 KiB chunks (the length is bounded by the file size).
 */
export async function recordLooksTorn(
  handle: FileHandle,
  offset: number,
  size: number,
  sectorBytes: number,
): Promise<boolean> {
  if (size - offset < RECORD_HEADER_BYTES) return true;
  const header = new Uint8Array(RECORD_HEADER_BYTES);
  await readFully(handle, header, offset);
  const payloadLength = new DataView(header.buffer).getUint32(4, true);
  const end = (offset + RECORD_HEADER_BYTES + payloadLength + 7) & ~7;
  if (offset + RECORD_HEADER_BYTES + payloadLength > size || end > size) return true;
  return someSectorShareIsZero(handle, offset, end, sectorBytes);
}

/**
 * Whether a segment whose header is invalid was never written (a roll that crashed before its
 * first write was durable): the file is shorter than a header or its header bytes are all zeros.
 */
export async function headerLooksUnwritten(handle: FileHandle, size: number): Promise<boolean> {
  if (size < SEGMENT_HEADER_BYTES) {
    if (size === 0) return true;
    const bytes = new Uint8Array(size);
    await readFully(handle, bytes, 0);
    return bytes.every((byte) => byte === 0);
  }
  const header = new Uint8Array(SEGMENT_HEADER_BYTES);
  await readFully(handle, header, 0);
  return header.every((byte) => byte === 0);
}

/** Whether, for some sector, every byte of [from, to) that lies in that sector is zero. */
async function someSectorShareIsZero(
  handle: FileHandle,
  from: number,
  to: number,
  sectorBytes: number,
): Promise<boolean> {
  const buffer = new Uint8Array(Math.min(READ_CHUNK_BYTES, to - from));
  let sectorAllZero = true;
  let sector = Math.floor(from / sectorBytes);
  for (let position = from; position < to;) {
    const count = Math.min(buffer.length, to - position);
    await readFully(handle, buffer.subarray(0, count), position);
    for (let i = 0; i < count; i++) {
      const at = position + i;
      const atSector = Math.floor(at / sectorBytes);
      if (atSector !== sector) {
        if (sectorAllZero) return true;
        sector = atSector;
        sectorAllZero = true;
      }
      if (buffer[i] !== 0) sectorAllZero = false;
    }
    position += count;
  }
  return sectorAllZero;
}

async function readFully(handle: FileHandle, into: Uint8Array, position: number): Promise<void> {
  let filled = 0;
  while (filled < into.length) {
    const count = await handle.read(into, filled, into.length - filled, position + filled);
    if (count === 0) break;
    filled += count;
  }
  // Bytes past the end of the file read as zeros (the caller bounded the range by the size).
  into.fill(0, filled);
}
