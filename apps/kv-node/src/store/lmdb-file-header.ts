/**
 * A check of an LMDB file's two meta pages before LMDB opens it.
 *
 * LMDB (as built into the `lmdb` package) does not refuse a damaged file: a zeroed, truncated or
 * foreign `kv-state.mdb` crashes the process with SIGSEGV before anything is logged, which tells
 * an operator nothing. Its own rule for a valid environment is that both meta pages (pages 0 and
 * 1) carry the meta flag and the magic number; this module applies that rule first, so such a file
 * is refused with an error that names it. Damage inside the B-tree pages is not detected here
 * (LMDB keeps no page checksums); the replicated log and a snapshot from the leader are the way
 * back from that, as the runbook for a failed disk says.
 *
 * The layout read here is that of lmdb 3.x (LMDB 0.9 with a 24-byte page header, data version 2);
 * the test of this module opens a real file, so an upgrade that changes it fails there first.
 */

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { REPLACE_MEMBER_RUNBOOK } from '../node/data-directory.js';

/** LMDB's `MDB_MAGIC`. */
const MAGIC = 0xbeefc0de;
/** LMDB's `P_META` page flag. */
const META_PAGE_FLAG = 0x08;
/** Offsets in a meta page (page header, then `MDB_meta`). */
const PAGE_NUMBER_AT = 0x00;
const PAGE_FLAGS_AT = 0x12;
const MAGIC_AT = 0x18;
const PAGE_SIZE_AT = 0x30;
/** Enough of a meta page for the fields above. */
const HEADER_BYTES = 0x34;

/** Why a file is refused, or `undefined` for a file LMDB may open. */
function metaPageProblem(page: Buffer, index: number): string | undefined {
  if (page.length < HEADER_BYTES) return `meta page ${index} is cut short`;
  if (page.readBigUInt64LE(PAGE_NUMBER_AT) !== BigInt(index)) {
    return `meta page ${index} has another page number`;
  }
  if ((page.readUInt16LE(PAGE_FLAGS_AT) & META_PAGE_FLAG) === 0) {
    return `page ${index} is not a meta page`;
  }
  if (page.readUInt32LE(MAGIC_AT) !== MAGIC) return `meta page ${index} lacks LMDB's magic number`;
  return undefined;
}

function readAt(fd: number, position: number, length: number): Buffer {
  const buffer = Buffer.alloc(length);
  const read = readSync(fd, buffer, 0, length, position);
  return buffer.subarray(0, read);
}

/**
 * Throws if the LMDB file at `path` exists, is not empty and its meta pages are not LMDB's. A
 * missing or empty file passes (LMDB creates a new environment).
 *
 * @throws Error naming the file and what is wrong with it.
 */
export function checkLmdbFileHeader(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return;
    const first = readAt(fd, 0, HEADER_BYTES);
    let problem = metaPageProblem(first, 0);
    if (problem === undefined) {
      const pageSize = first.readUInt32LE(PAGE_SIZE_AT);
      const powerOfTwo = (pageSize & (pageSize - 1)) === 0;
      if (!powerOfTwo || pageSize < 512 || pageSize > 65_536) {
        problem = `meta page 0 names an impossible page size (${pageSize})`;
      } else if (size < 2 * pageSize) {
        problem = `it is ${size} bytes, shorter than its two meta pages`;
      } else {
        problem = metaPageProblem(readAt(fd, pageSize, HEADER_BYTES), 1);
      }
    }
    if (problem !== undefined) {
      throw new Error(
        `${path} is not a usable LMDB file: ${problem}. kv-node will not open it (LMDB would crash ` +
          `on it); treat the member as one whose disk failed (${REPLACE_MEMBER_RUNBOOK})`,
      );
    }
  } finally {
    closeSync(fd);
  }
}
