import type { SnapshotMetadata } from './log-entry.js';
import type { ReplicatedLog } from './replicated-log.js';

/**
 * What this server holds, whatever its role: its in-memory log, and how far that log is durable,
 * committed (the high-water mark) and applied, plus its latest durable snapshot. Shared by the
 * core's role parts; the core's façade creates it from the recovered state.
 */
export class ReplicaState {
  /** The in-memory log after the low-water mark. */
  readonly log: ReplicatedLog;
  /** Highest index known to be committed (stored on a majority); never moves back. */
  highWaterMark: number;
  /** Highest index durable on this server. */
  durableIndex: number;
  /** Highest index the driver reported applied to the state machine. */
  appliedIndex: number;
  /** The latest durable snapshot, if any. */
  latestSnapshot: SnapshotMetadata | undefined;

  /**
   * @param appliedIndex - where the state machine stands: the snapshot's index (it was restored
   *   from it), or later when it kept its own state durably past the snapshot (its durable
   *   applied index, at most the log's last index).
   * @throws Error when `appliedIndex` is beyond the log's last index.
   */
  constructor(
    snapshot: SnapshotMetadata | undefined,
    log: ReplicatedLog,
    appliedIndex = snapshot?.index ?? 0,
  ) {
    this.log = log;
    this.latestSnapshot = snapshot;
    const applied = Math.max(snapshot?.index ?? 0, appliedIndex);
    if (applied > log.lastIndex) {
      throw new Error(`applied index ${applied} is beyond the log's last entry ${log.lastIndex}`);
    }
    if (log.hollowThrough > applied) {
      throw new Error(
        `entries through ${log.hollowThrough} are hollow but only ${applied} applied`,
      );
    }
    // Everything handed in was read back from disk, so it is durable. The state machine stands
    // at `applied`; only committed entries are ever applied, so everything through it is
    // committed too (the high-water mark may start there).
    this.highWaterMark = applied;
    this.durableIndex = log.lastIndex;
    this.appliedIndex = applied;
  }

  /** Moves the high-water mark forward to `index` (never back). */
  commitTo(index: number): void {
    if (index > this.highWaterMark) this.highWaterMark = index;
  }
}
