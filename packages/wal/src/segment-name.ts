// Segment files are named by the index of their first entry, zero-padded so that name order is
// index order: 00000000000000000001.wal.

const SUFFIX = '.wal';
const DIGITS = 20;
const PATTERN = /^(\d{20})\.wal$/;

/** The file name of the segment whose first entry has `firstIndex`. */
export function segmentFileName(firstIndex: number): string {
  return String(firstIndex).padStart(DIGITS, '0') + SUFFIX;
}

/** The first index encoded in a segment file name, or `undefined` if it is not a segment name. */
export function parseSegmentFileName(name: string): number | undefined {
  const match = PATTERN.exec(name);
  return match ? Number(match[1]) : undefined;
}

/** Name of the pre-created file that becomes the next segment. */
export const SPARE_SEGMENT_NAME = 'next.spare';
