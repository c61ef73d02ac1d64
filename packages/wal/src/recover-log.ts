// Recovery on open (DESIGN.md §6): scan every segment, cut a torn tail, refuse corruption.
import { WalCorruptionError } from './errors.js';
import type { FileHandle, FileSystem } from './file-system.js';
import type { Logger, WallClock } from './ports.js';
import { RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES, encodeSegmentHeader } from './record-format.js';
import { Segment } from './segment.js';
import { SPARE_SEGMENT_NAME, parseSegmentFileName } from './segment-name.js';
import { findVouchingRecord, scanSegment } from './segment-scan.js';
import { headerLooksUnwritten, recordLooksTorn } from './torn-write.js';
import type { WalEntry } from './write-ahead-log.js';

const MIB = 1024 * 1024;

/** What recovery did while opening. */
export interface RecoveryReport {
  /** Set when the last segment ended in a torn write that was cut off. */
  readonly tornTail:
    | {
        /** Path of the repaired segment. */
        readonly file: string;
        /** Byte offset where the invalid tail started (the new file size). */
        readonly offset: number;
        /** Bytes cut off. */
        readonly discardedBytes: number;
        /** Path of the copy of the segment as found, kept for inspection. */
        readonly brokenCopy: string;
      }
    | undefined;
  /** Entries found. */
  readonly entries: number;
  /** Segments found (after repair). */
  readonly segments: number;
}

/**
 * Scans every segment, repairs a torn tail, and rebuilds the in-memory index. `opened` collects
 * each segment as it is opened, so the caller can close them all if recovery throws.
 *
 * `onEntry` sees each entry as the scan accepts it (payload a view into the scan's buffer, valid
 * during the call), so a caller rebuilding state from the log reads it once. Why it never sees an
 * entry that recovery then drops: the scan of a segment stops at its first invalid record and
 * hands on only the records before it (checksum, index and generation order checked). Recovery
 * then either throws (a damaged older segment, a segment that does not follow on, damage to synced
 * data at the end of the last one, a failed repair), and the caller discards everything it was
 * given, as `WriteAheadLogOptions.onRecoveredEntry` requires; or it keeps every record before that
 * first invalid one: a torn tail is cut exactly there (a last segment without a valid header, which
 * is removed, handed on nothing). Nothing else removes entries during open.
 */
export async function recover(
  directory: string,
  fs: FileSystem,
  settings: { wallClock: WallClock; logger: Logger; sectorBytes: number },
  firstIndexOfNewLog: number,
  opened: Segment[],
  onEntry?: (entry: WalEntry) => void,
): Promise<{ segments: Segment[]; generations: [number[], number[]]; report: RecoveryReport }> {
  if (!Number.isSafeInteger(firstIndexOfNewLog) || firstIndexOfNewLog < 0) {
    throw new RangeError(
      `firstIndex must be a non-negative safe integer, got ${firstIndexOfNewLog}`,
    );
  }
  const names = await fs.readdir(directory);
  if (names.includes(SPARE_SEGMENT_NAME)) await fs.unlink(`${directory}/${SPARE_SEGMENT_NAME}`);
  const firstIndexes = names
    .map(parseSegmentFileName)
    .filter((index): index is number => index !== undefined)
    .sort((a, b) => a - b);
  const runStarts: number[] = [];
  const runGenerations: number[] = [];
  let tornTail: RecoveryReport['tornTail'];
  let entries = 0;
  for (let i = 0; i < firstIndexes.length; i++) {
    const segment = new Segment(directory, firstIndexes[i]!, 0);
    segment.handle = await fs.open(segment.path, 'readwrite');
    opened.push(segment);
    const previous = opened.at(-2);
    if (previous && segment.firstIndex !== previous.lastIndex + 1) {
      throw new WalCorruptionError(
        segment.path,
        0,
        `segment starts at index ${segment.firstIndex} but the previous one ends at ${previous.lastIndex}`,
      );
    }
    const scan = await scanSegment(
      segment.handle,
      segment.firstIndex,
      (record, offset, bytes, at) => {
        const { index, generation } = record;
        segment.push(offset);
        if (runGenerations.at(-1) !== generation) {
          if (generation < (runGenerations.at(-1) ?? 0)) {
            throw new WalCorruptionError(
              segment.path,
              offset,
              `generation ${generation} below the previous entry's`,
            );
          }
          runStarts.push(index);
          runGenerations.push(generation);
        }
        if (onEntry === undefined) return;
        const payloadStart = at + RECORD_HEADER_BYTES;
        onEntry({
          index,
          generation,
          type: record.type,
          payload: bytes.subarray(payloadStart, payloadStart + record.payloadLength),
        });
      },
    );
    segment.endOffset = scan.validEnd;
    if (scan.header) segment.startedAtWallMs = scan.header.startedAtWallMs;
    entries += segment.count;
    if (!scan.invalid) continue;
    const isLast = i === firstIndexes.length - 1;
    const expectedIndex = segment.lastIndex + 1;
    if (!isLast)
      throw new WalCorruptionError(
        segment.path,
        scan.invalid.offset,
        `${scan.invalid.reason} in an older segment`,
      );
    if (scan.header === undefined) {
      // A segment file exists only once its header was durable (a new log's first segment is
      // renamed into place after its header is synced), except after a roll, whose rename and
      // first write run together: only the last segment right after a complete predecessor
      // may have no header, and only if it was never written (short or zeros).
      const tornRoll = i > 0 && (await headerLooksUnwritten(segment.handle, scan.size));
      if (!tornRoll) {
        throw new WalCorruptionError(
          segment.path,
          0,
          `${scan.invalid.reason}: the segment named for entry ${segment.firstIndex} is empty or ` +
            'damaged, yet its header was durable before any entry was written to it',
        );
      }
    } else if (
      !(await recordLooksTorn(segment.handle, scan.invalid.offset, scan.size, settings.sectorBytes))
    ) {
      throw new WalCorruptionError(
        segment.path,
        scan.invalid.offset,
        `${scan.invalid.reason}: the record is complete and none of its sectors is unwritten ` +
          '(zeros), so it was damaged after it was written, not torn',
      );
    }
    const vouched = await findVouchingRecord(
      segment.handle,
      scan.invalid.offset,
      scan.size,
      expectedIndex,
    );
    if (vouched !== undefined) {
      throw new WalCorruptionError(
        segment.path,
        scan.invalid.offset,
        `${scan.invalid.reason}, yet the valid record at byte ${vouched} was written after entry ${expectedIndex} was durable`,
      );
    }
    const brokenCopy = `${segment.path}.${scan.invalid.offset}.broken`;
    await copyFile(fs, segment.handle, scan.size, brokenCopy);
    await fs.syncDirectory(directory);
    if (scan.header) {
      await segment.handle.truncate(scan.invalid.offset);
      await segment.handle.datasync();
    } else {
      // Not even the header made it: the segment never held a durable entry.
      await segment.retire();
      opened.pop();
      await fs.unlink(segment.path);
      await fs.syncDirectory(directory);
    }
    tornTail = {
      file: segment.path,
      offset: scan.invalid.offset,
      discardedBytes: scan.size - scan.invalid.offset,
      brokenCopy,
    };
    settings.logger.warn(
      { ...tornTail },
      'write-ahead log: cut off a torn write at the end of the last segment',
    );
  }
  if (opened.length === 0) {
    const firstIndex = firstIndexOfNewLog;
    const segment = new Segment(directory, firstIndex, settings.wallClock.now());
    // The header is durable before the segment's name exists, so an empty or zeroed first
    // segment is always damage, never a crash during creation (see above).
    const spare = `${directory}/${SPARE_SEGMENT_NAME}`;
    const header = new Uint8Array(SEGMENT_HEADER_BYTES);
    encodeSegmentHeader(
      header,
      new DataView(header.buffer),
      0,
      firstIndex,
      segment.startedAtWallMs,
    );
    const creating = await fs.open(spare, 'create');
    try {
      await creating.truncate(0);
      await creating.write(header, 0, header.length, 0);
      await creating.datasync();
    } finally {
      await creating.close();
    }
    await fs.rename(spare, segment.path);
    await fs.syncDirectory(directory);
    segment.handle = await fs.open(segment.path, 'readwrite');
    opened.push(segment);
    segment.endOffset = SEGMENT_HEADER_BYTES;
  } else {
    // A previous process may have died before its last fsync: make what we found durable, so
    // `durableIndex` is honest from the start.
    await opened.at(-1)!.handle!.datasync();
  }
  return {
    segments: [...opened],
    generations: [runStarts, runGenerations],
    report: { tornTail, entries, segments: opened.length },
  };
}

async function copyFile(
  fs: FileSystem,
  source: FileHandle,
  size: number,
  to: string,
): Promise<void> {
  const copy = await fs.open(to, 'create');
  try {
    await copy.truncate(0);
    const buffer = new Uint8Array(Math.min(size, 4 * MIB));
    for (let position = 0; position < size;) {
      const count = await source.read(
        buffer,
        0,
        Math.min(buffer.length, size - position),
        position,
      );
      if (count === 0) break;
      await copy.write(buffer, 0, count, position);
      position += count;
    }
    await copy.datasync();
  } finally {
    await copy.close();
  }
}
