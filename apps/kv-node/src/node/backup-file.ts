/**
 * The file `etcdctl snapshot save` writes from kv-node's `Maintenance.Snapshot` stream: kv-node's
 * own state-machine snapshot (`store/kv-snapshot-codec.ts`: keys, values, revisions, history,
 * leases, auth, alarms), framed the way etcd frames its backups so the same integrity check
 * applies: the content is a whole number of 512-byte blocks and its SHA-256 follows it (etcd's
 * `snapshot restore` checks exactly that). The content is not etcd's bbolt database: kv-node
 * restores it, etcd cannot.
 *
 * Content: the 8-byte magic `KVNODEB1`, the snapshot bytes, zero padding, then the snapshot's
 * length as an 8-byte big-endian integer ending the last block.
 */

import { createHash } from 'node:crypto';

/** First bytes of a kv-node backup. */
export const BACKUP_MAGIC = Buffer.from('KVNODEB1', 'latin1');
/** etcd's backups are a whole number of pages; its restore tells a hash is there by this. */
const BLOCK_BYTES = 512;
const LENGTH_BYTES = 8;
/** Bytes of the SHA-256 that ends the file. */
export const BACKUP_HASH_BYTES = 32;

/**
 * The backup file's bytes for the state-machine snapshot `snapshotChunks`, as chunks, lazily:
 * the magic, each snapshot chunk as it comes, then the padding, length and SHA-256.
 */
export function* backupChunks(snapshotChunks: Iterable<Uint8Array>): Generator<Uint8Array> {
  const hash = createHash('sha256');
  hash.update(BACKUP_MAGIC);
  yield BACKUP_MAGIC;
  let snapshotBytes = 0;
  for (const chunk of snapshotChunks) {
    snapshotBytes += chunk.byteLength;
    hash.update(chunk);
    yield chunk;
  }
  const used = (BACKUP_MAGIC.byteLength + snapshotBytes + LENGTH_BYTES) % BLOCK_BYTES;
  const tail = Buffer.alloc((used === 0 ? 0 : BLOCK_BYTES - used) + LENGTH_BYTES);
  tail.writeBigUInt64BE(BigInt(snapshotBytes), tail.byteLength - LENGTH_BYTES);
  hash.update(tail);
  yield tail;
  yield hash.digest();
}

/**
 * The state-machine snapshot inside a backup file's bytes, after checking its frame and its
 * SHA-256.
 *
 * @throws Error naming what is wrong: not a kv-node backup, cut short, or a hash mismatch.
 */
export function snapshotFromBackup(file: Uint8Array): Uint8Array {
  const bytes = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  const contentBytes = bytes.byteLength - BACKUP_HASH_BYTES;
  if (contentBytes < BLOCK_BYTES || contentBytes % BLOCK_BYTES !== 0) {
    throw new Error('not a kv-node backup: its size is not whole 512-byte blocks and a SHA-256');
  }
  if (!bytes.subarray(0, BACKUP_MAGIC.byteLength).equals(BACKUP_MAGIC)) {
    throw new Error('not a kv-node backup: it does not start with KVNODEB1');
  }
  const content = bytes.subarray(0, contentBytes);
  const expected = bytes.subarray(contentBytes);
  if (!createHash('sha256').update(content).digest().equals(expected)) {
    throw new Error('backup damaged: its SHA-256 does not match its content');
  }
  const snapshotBytes = Number(content.readBigUInt64BE(contentBytes - LENGTH_BYTES));
  if (BACKUP_MAGIC.byteLength + snapshotBytes + LENGTH_BYTES > contentBytes) {
    throw new Error('backup damaged: its snapshot length runs past its content');
  }
  return content.subarray(BACKUP_MAGIC.byteLength, BACKUP_MAGIC.byteLength + snapshotBytes);
}
