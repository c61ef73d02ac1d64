/**
 * A hash of the store's MVCC key space up to a revision, for etcd's `Maintenance.HashKV`: a
 * consistency check between members. Every member applies the same log, so members at the same
 * revision (and compact revision) hold the same records and must give the same hash; a member
 * whose data diverged gives another. The number is kv-node's own (CRC-32C over kv-node's records),
 * not the one etcd computes over its bbolt pages.
 */

import { crc32c } from '@x/wal';
import type { ByteString } from './byte-string.js';
import { bytesFromByteString } from './byte-string.js';
import type { KeyHistory } from './key-history.js';
import { isTombstone, recordRevision } from './key-history.js';
import type { KvStore } from './kv-store.js';
import type { PackedEntry } from './packed-entry.js';
import { unpackHeader } from './packed-entry.js';
import { CompactedRevisionError, FutureRevisionError } from './revision-errors.js';

/** The hash of a store's records and the revisions it covers. */
export interface KeyValueHash {
  /** CRC-32C (unsigned 32-bit) of every record up to {@link KeyValueHash.hashRevision}. */
  hash: number;
  /** The store's compact revision when the hash was taken. */
  compactRevision: number;
  /** The revision hashed up to (inclusive): the one asked for, or the current one. */
  hashRevision: number;
}

/** Marks a record as a put or a delete, so a put and a delete cannot hash alike. */
const PUT = Uint8Array.of(1);
const DELETE = Uint8Array.of(2);

/** `value` as 8 big-endian bytes (revisions are safe integers). */
function revisionBytes(value: number): Uint8Array {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(value));
  return bytes;
}

/**
 * Hashes every record the store keeps (each key's superseded puts and deletes, then its current
 * value) written at or before `revision`, key by key in key order. Records compacted away are
 * not hashed, as etcd hashes only what its backend still holds.
 *
 * @param revision the revision to hash up to; 0 or less: the current revision.
 * @throws FutureRevisionError if `revision` is above the current revision.
 * @throws CompactedRevisionError if `revision` is below the compact revision.
 */
export function hashKeyValues(store: KvStore, revision = 0): KeyValueHash {
  const current = store.revision;
  if (revision > current) throw new FutureRevisionError(revision);
  const compactRevision = store.compactRevision;
  if (revision > 0 && revision < compactRevision) {
    throw new CompactedRevisionError(revision, compactRevision);
  }
  const hashRevision = revision > 0 ? revision : current;
  const latest = store.packedView();
  const past = store.historyView();
  let hash = 0;
  const add = (bytes: Uint8Array): void => {
    hash = crc32c(bytes, 0, bytes.length, hash);
  };
  const addKey = (key: ByteString): void => {
    const keyBytes = bytesFromByteString(key);
    add(revisionBytes(keyBytes.length));
    add(keyBytes);
  };
  const addHistory = (key: ByteString, history: KeyHistory): void => {
    for (const record of history) {
      if (recordRevision(record) > hashRevision) break;
      addKey(key);
      if (isTombstone(record)) {
        add(DELETE);
        add(revisionBytes(record));
      } else {
        add(PUT);
        add(bytesFromByteString(record));
      }
    }
  };
  const addLatest = (key: ByteString, packed: PackedEntry): void => {
    if (unpackHeader(packed).modRevision > hashRevision) return;
    addKey(key);
    add(PUT);
    add(bytesFromByteString(packed));
  };
  // Both key lists are strictly ascending: merge them so each key's records hash together.
  let latestAt = 0;
  let pastAt = 0;
  while (latestAt < latest.keys.length || pastAt < past.keys.length) {
    const latestKey = latest.keys[latestAt];
    const pastKey = past.keys[pastAt];
    if (pastKey !== undefined && (latestKey === undefined || pastKey <= latestKey)) {
      addHistory(pastKey, past.records[pastAt] as KeyHistory);
      pastAt += 1;
      if (pastKey !== latestKey) continue;
    }
    if (latestKey !== undefined) {
      addLatest(latestKey, latest.packed[latestAt] as PackedEntry);
      latestAt += 1;
    }
  }
  return { hash: hash >>> 0, compactRevision, hashRevision };
}
