import type { ClusterConfiguration } from './cluster-configuration.js';

/**
 * What a log entry carries. `empty` is the entry a new leader appends in its own generation so
 * that earlier entries can be committed (DESIGN.md §5 rule 3); `command` is a client's command;
 * `configuration` is a membership change (its bytes encode a `ClusterConfiguration`; it takes
 * effect when appended, and the state machine never sees it).
 */
export type EntryKind = 'empty' | 'command' | 'configuration';

/** One entry of the replicated log. */
export interface LogEntry {
  /** Position in the log, starting at 1. */
  readonly index: number;
  /** Generation (term) of the leader that appended the entry. */
  readonly generation: number;
  /** Whether this is a leader's empty entry or a client command. */
  readonly kind: EntryKind;
  /**
   * The client's command bytes; empty for `empty` entries and for hollow entries (see
   * `hollowCommandBytes`). The log never copies or changes them.
   */
  readonly command: Uint8Array;
  /**
   * Set only on a hollow entry: an applied, durable entry whose command bytes the in-memory log
   * dropped to bound its memory (they are still in the write-ahead log until it is released).
   * `command` is then empty and this is the real command's length in bytes. A hollow entry never
   * leaves the core: an append that needs it asks the driver to load it from the log first
   * (`Ready.entriesToLoad`); it is never sent, applied or persisted.
   */
  readonly hollowCommandBytes?: number;
}

/** True when `entry` is hollow: its command bytes are not in memory (see `hollowCommandBytes`). */
export function isHollowEntry(entry: LogEntry): boolean {
  return entry.hollowCommandBytes !== undefined;
}

/** The length in bytes of `entry`'s command, whether it is held in memory or hollow. */
export function commandBytesOf(entry: LogEntry): number {
  return entry.hollowCommandBytes ?? entry.command.length;
}

/** The durable voting state: it must be persisted before any message that depends on it is sent. */
export interface HardState {
  /** The highest generation this server has seen. */
  readonly generation: number;
  /** Whom this server voted for in `generation`, if anyone. */
  readonly votedFor: string | undefined;
}

/**
 * A durable snapshot as the core knows it: what it covers and how many bytes it has. The bytes
 * themselves stay on disk; the driver reads and writes them (the core holds no snapshot data).
 */
export interface SnapshotMetadata {
  /** Index of the last entry the snapshot covers (the low-water mark once installed). */
  readonly index: number;
  /** Generation of the entry at `index`. */
  readonly generation: number;
  /** Size in bytes of the snapshot as it is transferred to followers (the whole stored file). */
  readonly sizeBytes: number;
  /**
   * The configuration in force at `index`. Absent in snapshots written before membership changes:
   * the initial members are then the configuration.
   */
  readonly configuration?: ClusterConfiguration;
}

/**
 * A state machine's serialized state: one buffer, or a sequence of chunks that the node writes
 * to disk one at a time as they are produced (so a large state is never held whole in memory).
 */
export type SnapshotData = Uint8Array | Iterable<Uint8Array>;

/** A point-in-time copy of the state machine: everything up to and including `index`. */
export interface Snapshot {
  /** Index of the last entry the snapshot covers (the low-water mark once installed). */
  readonly index: number;
  /** Generation of the entry at `index`. */
  readonly generation: number;
  /** The state machine's serialized state. */
  readonly data: Uint8Array;
}

export const EMPTY_COMMAND = new Uint8Array(0);
