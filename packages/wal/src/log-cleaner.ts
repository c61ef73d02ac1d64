import type { WallClock } from './ports.js';

/** What a cleaner sees of each segment, oldest first. */
export interface SegmentInfo {
  /** File name inside the log directory. */
  readonly fileName: string;
  /** Index of the first entry. */
  readonly firstIndex: number;
  /** Index of the last entry (`firstIndex - 1` if empty). */
  readonly lastIndex: number;
  /** Size in bytes, including entries not yet written. */
  readonly bytes: number;
  /** Wall-clock ms when the segment was started. */
  readonly startedAtWallMs: number;
  /** Wall-clock ms when the next segment was started, i.e. when this one stopped growing; `undefined` for the last segment. */
  readonly closedAtWallMs: number | undefined;
}

/**
 * Chooses the low-water mark: the log may release every whole segment whose entries are all
 * below it. The log itself guarantees the segment holding the mark and the last segment stay.
 */
export interface LogCleaner {
  /** The low-water mark for these segments (oldest first); entries below it may be deleted. */
  lowWaterMark(segments: readonly SegmentInfo[]): number;
}

/** Options of `SnapshotCleaner`. */
export interface SnapshotCleanerOptions {
  /** Entries to keep below the snapshot so slow followers can catch up from the log. Default 0. */
  retainEntries?: number;
}

/**
 * Snapshot-based cleaning: once the state up to index N is in a durable snapshot
 * (`snapshotTaken(N)`), entries up to `N - retainEntries` are no longer needed.
 */
export class SnapshotCleaner implements LogCleaner {
  private snapshotIndex = 0;
  private readonly retainEntries: number;

  constructor(options: SnapshotCleanerOptions = {}) {
    this.retainEntries = options.retainEntries ?? 0;
  }

  /** Records that the state up to and including `index` is durably snapshotted. */
  snapshotTaken(index: number): void {
    this.snapshotIndex = Math.max(this.snapshotIndex, index);
  }

  lowWaterMark(): number {
    return Math.max(0, this.snapshotIndex - this.retainEntries + 1);
  }
}

/** Options of `TimeBasedCleaner`. */
export interface TimeBasedCleanerOptions {
  /** Closed segments are kept at least this long after they stopped growing, in ms. */
  retentionMs: number;
  /** Wall clock, compared with the times stored in segment headers (which survive restarts). */
  wallClock: WallClock;
}

/**
 * Time-based cleaning: deletes closed segments that stopped growing more than `retentionMs` ago.
 * Uses wall time because segment ages must survive restarts; a wall clock stepped forward deletes
 * early, so pair it with snapshots where the entries still matter.
 */
export class TimeBasedCleaner implements LogCleaner {
  constructor(private readonly options: TimeBasedCleanerOptions) {}

  lowWaterMark(segments: readonly SegmentInfo[]): number {
    const now = this.options.wallClock.now();
    for (const segment of segments) {
      const closed = segment.closedAtWallMs;
      if (closed === undefined || now - closed <= this.options.retentionMs)
        return segment.firstIndex;
    }
    return segments.at(-1)?.firstIndex ?? 0;
  }
}
