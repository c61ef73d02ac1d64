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

  constructor(snapshot: SnapshotMetadata | undefined, log: ReplicatedLog) {
    this.log = log;
    this.latestSnapshot = snapshot;
    const snapshotIndex = snapshot?.index ?? 0;
    // Everything handed in was read back from disk, so it is durable; the state machine was
    // restored from the snapshot, so it stands at the snapshot index.
    this.highWaterMark = snapshotIndex;
    this.durableIndex = log.lastIndex;
    this.appliedIndex = snapshotIndex;
  }

  /** Moves the high-water mark forward to `index` (never back). */
  commitTo(index: number): void {
    if (index > this.highWaterMark) this.highWaterMark = index;
  }
}
