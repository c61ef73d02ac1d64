/**
 * The snapshot of a quorum-mode replica, so its log can be compacted: every stored entry
 * (tombstones included) and the tombstone collection horizon, as of a log index; the log's whole
 * segments up to that index can then be deleted, and a restart loads the snapshot and replays
 * only the entries after it.
 *
 * File (`<data-dir>/quorum-log.snapshot`): `KVQSNAP1`, CRC-32C (u32, of everything after it), the
 * log index (u64), the horizon's length (u16) and its encoded version (empty: none), the entry
 * count (u32), then per entry its length (u32) and the log record of `stored-record.ts`. Written
 * to a temporary file, fdatasynced, renamed over the old one and the directory fsynced, so a crash
 * leaves the old snapshot or the new one, never half of one.
 */

import { open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { crc32c } from '@x/wal';
import type { ByteString } from '../store/byte-string.js';
import { decodeStoredRecord, encodeStoredRecord } from './stored-record.js';
import { decodeValueVersion, encodeValueVersion } from './value-version.js';
import type { StoredValue, ValueVersion } from './value-version.js';

const MAGIC = Buffer.from('KVQSNAP1', 'latin1');

/** What a snapshot holds. */
export interface QuorumSnapshot {
  /** Every log entry up to this index is in `entries`. */
  readonly index: number;
  readonly horizon: ValueVersion | undefined;
  readonly entries: readonly { key: ByteString; stored: StoredValue }[];
}

/** A snapshot file that fails its checks: the member must not start from it. */
export class QuorumSnapshotCorruptionError extends Error {
  /** @param path the file, @param reason what is wrong. */
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`quorum-mode snapshot ${path} is damaged: ${reason}; refusing to start from it`);
    this.name = 'QuorumSnapshotCorruptionError';
  }
}

/** Encodes a snapshot. */
export function encodeQuorumSnapshot(snapshot: QuorumSnapshot): Buffer {
  const horizon = Buffer.from(
    snapshot.horizon === undefined ? '' : encodeValueVersion(snapshot.horizon),
    'utf8',
  );
  const records = snapshot.entries.map(({ key, stored }) => encodeStoredRecord(key, stored));
  const header = Buffer.alloc(8 + 2 + horizon.length + 4);
  header.writeBigUInt64LE(BigInt(snapshot.index), 0);
  header.writeUInt16LE(horizon.length, 8);
  horizon.copy(header, 10);
  header.writeUInt32LE(records.length, 10 + horizon.length);
  const parts: Uint8Array[] = [header];
  for (const record of records) {
    const length = Buffer.alloc(4);
    length.writeUInt32LE(record.length, 0);
    parts.push(length, record);
  }
  const body = Buffer.concat(parts);
  const checksum = Buffer.alloc(4);
  checksum.writeUInt32LE(crc32c(body) >>> 0, 0);
  return Buffer.concat([MAGIC, checksum, body]);
}

/** Decodes a snapshot. @throws QuorumSnapshotCorruptionError naming `path`. */
export function decodeQuorumSnapshot(bytes: Buffer, path: string): QuorumSnapshot {
  if (bytes.length < 12 || !bytes.subarray(0, 8).equals(MAGIC)) {
    throw new QuorumSnapshotCorruptionError(path, 'not a quorum-mode snapshot');
  }
  const body = bytes.subarray(12);
  if (crc32c(body) >>> 0 !== bytes.readUInt32LE(8)) {
    throw new QuorumSnapshotCorruptionError(path, 'checksum mismatch');
  }
  try {
    const index = Number(body.readBigUInt64LE(0));
    const horizonLength = body.readUInt16LE(8);
    const horizonText = body.toString('utf8', 10, 10 + horizonLength);
    let offset = 10 + horizonLength;
    const count = body.readUInt32LE(offset);
    offset += 4;
    const entries: { key: ByteString; stored: StoredValue }[] = [];
    for (let read = 0; read < count; read++) {
      const length = body.readUInt32LE(offset);
      offset += 4;
      if (offset + length > body.length) throw new RangeError('entry past the end');
      entries.push(decodeStoredRecord(body.subarray(offset, offset + length)));
      offset += length;
    }
    if (offset !== body.length) throw new RangeError('bytes after the last entry');
    return {
      index,
      horizon: horizonText === '' ? undefined : decodeValueVersion(horizonText),
      entries,
    };
  } catch (error) {
    if (error instanceof QuorumSnapshotCorruptionError) throw error;
    throw new QuorumSnapshotCorruptionError(path, (error as Error).message);
  }
}

/** Reads the snapshot at `path`, or `undefined` when there is none. @throws QuorumSnapshotCorruptionError */
export async function readQuorumSnapshot(path: string): Promise<QuorumSnapshot | undefined> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    return decodeQuorumSnapshot(await handle.readFile(), path);
  } finally {
    await handle.close();
  }
}

/** Writes `snapshot` to `path` atomically and durably (see the file comment). */
export async function writeQuorumSnapshot(path: string, snapshot: QuorumSnapshot): Promise<void> {
  const temporary = `${path}.tmp`;
  const handle = await open(temporary, 'w', 0o600);
  try {
    await handle.writeFile(encodeQuorumSnapshot(snapshot));
    await handle.datasync();
  } catch (error) {
    await handle.close();
    await rm(temporary, { force: true });
    throw error;
  }
  await handle.close();
  await rename(temporary, path);
  const directory = await open(dirname(path), 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}
