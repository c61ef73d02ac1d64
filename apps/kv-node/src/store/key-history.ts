/**
 * A key's superseded records, as etcd's MVCC keeps them until compaction: every put the key had
 * before its current value, and every delete, oldest first. The current value lives in the
 * store's main map (latest-revision reads never look here); this is the side structure that past
 * reads, watch catch-up and compaction use.
 *
 * A record is a packed entry (a put: its header holds its revision) or a number (the revision of
 * a delete: a tombstone, which ends a generation of the key). Keeping the packed string the store
 * already made costs one reference per revision, not a copy.
 */

import type { PackedEntry } from './packed-entry.js';
import { unpackHeader } from './packed-entry.js';

/** One superseded record: a packed entry (a put) or the revision of a delete (a tombstone). */
export type HistoryRecord = PackedEntry | number;

/** A key's superseded records in ascending revision order. */
export type KeyHistory = HistoryRecord[];

/** The revision a record was written at. */
export function recordRevision(record: HistoryRecord): number {
  return typeof record === 'number' ? record : unpackHeader(record).modRevision;
}

/** Whether a record is a tombstone (a delete). */
export function isTombstone(record: HistoryRecord): record is number {
  return typeof record === 'number';
}

/** Index of the last record written at or before `revision`, or -1 if none. */
export function lastIndexAtOrBefore(history: KeyHistory, revision: number): number {
  let low = 0;
  let high = history.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (recordRevision(history[middle] as HistoryRecord) <= revision) low = middle + 1;
    else high = middle;
  }
  return low - 1;
}

/**
 * The records still needed once the store is compacted at `compactRevision`: every record after
 * it, and the last one at or before it if that is a put the current value has not superseded by
 * then (a read at exactly `compactRevision` may need it). Returns the same array when nothing is
 * dropped.
 *
 * @param currentModRevision mod revision of the key's current value, if it has one.
 */
export function compactKeyHistory(
  history: KeyHistory,
  compactRevision: number,
  currentModRevision: number | undefined,
): KeyHistory {
  if (currentModRevision !== undefined && currentModRevision <= compactRevision) return [];
  const last = lastIndexAtOrBefore(history, compactRevision);
  if (last < 0) return history;
  const keepLast = !isTombstone(history[last] as HistoryRecord);
  const from = keepLast ? last : last + 1;
  return from === 0 ? history : history.slice(from);
}
