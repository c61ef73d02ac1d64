/**
 * Key-range permissions as etcd 3.4 matches them: a permission or a request covers one key
 * (`rangeEnd` empty), every key from `key` on (`rangeEnd` `"\0"`, open-ended), or `[key, rangeEnd)`.
 * A user's permissions of one kind are merged into disjoint intervals (overlapping and adjacent
 * ones joined, as etcd's `mergeRangePerms`), and a request is allowed when one merged interval
 * contains all of it.
 */

import type { ByteString } from '../store/byte-string.js';

/** etcd's `Permission.Type`: READ = 0, WRITE = 1, READWRITE = 2. */
export type PermissionType = 'read' | 'write' | 'readwrite';

/** etcd's permission type names, by protobuf number. */
export const PERMISSION_TYPES: readonly PermissionType[] = ['read', 'write', 'readwrite'];

/** One permission of a role. */
export interface KeyPermission {
  type: PermissionType;
  key: ByteString;
  /** `''`: only `key`; `'\0'`: every key `>= key`; otherwise the exclusive end. */
  rangeEnd: ByteString;
}

/** What a request needs on a key or range. */
export type Access = 'read' | 'write';

/** A half-open interval of keys; `end` `undefined` means no upper bound. */
export interface KeyInterval {
  start: ByteString;
  end: ByteString | undefined;
}

/**
 * The interval a key and range end denote (etcd's rules). A range end at or below the key
 * (an empty range) is treated as the single key, so a request is never allowed by emptiness.
 */
export function intervalOf(key: ByteString, rangeEnd: ByteString): KeyInterval {
  if (rangeEnd === '') return { start: key, end: `${key}\0` };
  if (rangeEnd === '\0') return { start: key, end: undefined };
  if (rangeEnd <= key) return { start: key, end: `${key}\0` };
  return { start: key, end: rangeEnd };
}

/** Whether `end` (exclusive; `undefined` = unbounded) reaches at least `other`. */
function endsAtOrAfter(end: ByteString | undefined, other: ByteString | undefined): boolean {
  if (end === undefined) return true;
  if (other === undefined) return false;
  return end >= other;
}

/** Sorts and joins overlapping or adjacent intervals into disjoint ones. */
export function mergeIntervals(intervals: readonly KeyInterval[]): KeyInterval[] {
  const sorted = [...intervals].sort((a, b) =>
    a.start < b.start ? -1 : a.start > b.start ? 1 : 0,
  );
  const merged: KeyInterval[] = [];
  for (const interval of sorted) {
    const last = merged[merged.length - 1];
    if (last !== undefined && (last.end === undefined || last.end >= interval.start)) {
      if (!endsAtOrAfter(last.end, interval.end)) last.end = interval.end;
      continue;
    }
    merged.push({ ...interval });
  }
  return merged;
}

/**
 * The merged intervals a set of permissions grants for `access` (READWRITE counts for both).
 */
export function grantedIntervals(
  permissions: Iterable<KeyPermission>,
  access: Access,
): KeyInterval[] {
  const intervals: KeyInterval[] = [];
  for (const permission of permissions) {
    if (permission.type === 'readwrite' || permission.type === access) {
      intervals.push(intervalOf(permission.key, permission.rangeEnd));
    }
  }
  return mergeIntervals(intervals);
}

/**
 * Whether one of the disjoint, sorted `granted` intervals contains all of `[key, rangeEnd)`.
 * Binary search: a user may hold thousands of permissions.
 */
export function isCovered(
  granted: readonly KeyInterval[],
  key: ByteString,
  rangeEnd: ByteString,
): boolean {
  const wanted = intervalOf(key, rangeEnd);
  let low = 0;
  let high = granted.length - 1;
  let candidate: KeyInterval | undefined;
  // The last interval whose start is <= the wanted start is the only one that can contain it.
  while (low <= high) {
    const middle = (low + high) >>> 1;
    const interval = granted[middle] as KeyInterval;
    if (interval.start <= wanted.start) {
      candidate = interval;
      low = middle + 1;
    } else {
      high = middle - 1;
    }
  }
  if (candidate === undefined) return false;
  // Intervals are half-open and the wanted one is never empty, so reaching its end suffices.
  return endsAtOrAfter(candidate.end, wanted.end);
}
