// The ports a LeaderFollowerNode is driven through (DESIGN.md §4), besides its storage.
import type { NodeId } from './messages.js';
import type { SnapshotData } from './log-entry.js';

/** Monotonic time in milliseconds (never wall time). */
export interface Clock {
  now(): number;
}

/** Callbacks on (real or virtual) time. Handles are opaque. */
export interface Timers {
  setTimeout(callback: () => void, delayMs: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** A pino-compatible logger subset; the default is a no-op. */
export interface Logger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/** One-way, per-peer ordered, lossy messaging (implemented by @x/transport-tcp and @x/simulation). */
export interface Transport {
  send(to: string, type: number, payload: Uint8Array): void;
  onMessage(handler: (from: string, type: number, payload: Uint8Array) => void): void;
}

/** The user's replicated state machine. Called in log order, from one logical thread. */
export interface StateMachine {
  /**
   * Applies a committed command; the return value resolves the proposer's promise.
   *
   * `awaited` is true when this node proposed the entry and its proposer still waits for the
   * result (the promise of `LeaderFollowerNode.propose`), false on every other member and
   * after the proposal timed out or was replaced. The state must not depend on it: it lets a
   * state machine skip building a result nobody will read (every member applies every entry).
   */
  apply(index: number, command: Uint8Array, awaited: boolean): unknown;
  /**
   * The whole state as of the last applied index: one buffer, or chunks that the node writes to
   * disk one at a time as it iterates them, so that a large state is never held whole. Chunks
   * may be produced lazily, but the state must be captured when this is called: commands
   * applied while the node is still iterating must not change what the chunks hold.
   */
  snapshot(): SnapshotData;
  /** Replaces the whole state with a snapshot that covers everything through `index`. */
  restore(snapshot: Uint8Array, index: number): void;
  /**
   * Optional streaming form of {@link restore}: when present, the node hands the stored
   * snapshot over as chunks read from disk (in order, about 1 MiB each) and never holds it
   * whole. The checksum covers the whole snapshot, so the iteration throws
   * `SnapshotCorruptionError` after the last chunk when it fails: replace the state only once
   * the iteration has ended without error, and read it to the end (the node fails otherwise).
   */
  restoreChunks?(chunks: AsyncIterable<Uint8Array>, index: number): Promise<void>;
  /**
   * Optional, for a state machine that keeps its state on disk itself: the log index through
   * which that state stood when the node opened (0 for none). When it is at or past the latest
   * snapshot's index, the node does not restore the snapshot. The node recovers the entries at
   * or below it hollow (their command bytes stay on disk, apart from the payload window) and
   * applies only the entries after it: it must count only commands whose effects are durable in
   * that state. Called once, before the log is recovered; a value beyond the log's last entry
   * refuses the start (`MemberStorageLostError`, `log-shorter-than-applied`).
   */
  durableAppliedIndex?(): number;
}

/**
 * Hooks a node calls as it works, for metrics and operators' tools (a library never depends on a
 * metrics client). Every hook is optional, called synchronously, and must not throw or call back
 * into the node. Durations are in milliseconds on the node's {@link Clock}.
 */
export interface NodeObserver {
  /** Entries appended to the local log became durable; `durationMs` from append to fdatasync. */
  logSynced?(entryCount: number, durationMs: number): void;
  /** The state machine applied the command at `index` in `durationMs`. */
  commandApplied?(index: number, durationMs: number): void;
  /** The state machine now stands at `index` (entries applied or a snapshot installed). */
  appliedThrough?(index: number): void;
  /** The leader this node knows of changed; `undefined` while no leader is known. */
  leaderChanged?(leaderId: NodeId | undefined, generation: number): void;
  /** A snapshot through `index` of `sizeBytes` was made durable, taken here or installed from the leader. */
  snapshotSaved?(index: number, sizeBytes: number, source: 'taken' | 'installed'): void;
  /**
   * On the leader: `member` rejected an append at or below `acknowledgedIndex`, which it had
   * acknowledged: it lost acknowledged entries (a forgetful member) and is no longer counted for
   * quorum while this node leads. The node also logs it once, at error level.
   */
  lostAcknowledgedEntries?(member: NodeId, acknowledgedIndex: number): void;
}
