/**
 * The version of a value in quorum mode (the Versioned Value pattern): the hybrid-clock timestamp
 * of the write, ties broken by the id (name) of the member that coordinated it. Every member
 * orders versions alike, so replicas converge on one winner (last writer wins).
 */

import { compareHybrid, decodeHybridTimestamp, encodeHybridTimestamp } from '@x/clocks';
import type { HybridTimestamp } from '@x/clocks';
import type { VersionComparator, Versioned } from '@x/quorum';
import type { ByteString } from '../store/byte-string.js';

/** A hybrid-clock timestamp and the member that took it. */
export interface ValueVersion {
  readonly timestamp: HybridTimestamp;
  /** Name of the coordinating member. */
  readonly writer: string;
}

/** A stored value: bytes, or `null` for a tombstone (a delete that must win over older puts). */
export type StoredValue = Versioned<ByteString | null, ValueVersion>;

/** Orders versions by timestamp, then writer; `undefined` (never written) is the oldest. */
export const compareValueVersions: VersionComparator<ValueVersion> = (a, b) => {
  if (a === undefined || b === undefined) {
    return (a === undefined ? 0 : 1) - (b === undefined ? 0 : 1);
  }
  const byTime = compareHybrid(a.timestamp, b.timestamp);
  if (byTime !== 0) return byTime;
  return a.writer < b.writer ? -1 : a.writer > b.writer ? 1 : 0;
};

/** The wire and log form of a version: `<20 hex digits of timestamp>:<writer>`. */
export function encodeValueVersion(version: ValueVersion): string {
  return `${encodeHybridTimestamp(version.timestamp)}:${version.writer}`;
}

/**
 * Reads {@link encodeValueVersion}'s form.
 *
 * @throws ClockDecodeError or TypeError for malformed input.
 */
export function decodeValueVersion(encoded: unknown): ValueVersion {
  if (typeof encoded !== 'string' || encoded.length > 300) {
    throw new TypeError('a version must be a string of at most 300 characters');
  }
  const colon = encoded.indexOf(':');
  const writer = encoded.slice(colon + 1);
  if (colon < 0 || writer === '') throw new TypeError(`malformed version "${encoded}"`);
  return { timestamp: decodeHybridTimestamp(encoded.slice(0, colon)), writer };
}

/** The version as a client reads it (an ETag, a header). */
export function describeVersion(version: ValueVersion): string {
  return encodeValueVersion(version);
}
