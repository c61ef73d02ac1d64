import type { ClusterConfiguration } from './cluster-configuration.js';
import type { SnapshotChunkToStore } from './core-types.js';
import type { HardState, LogEntry, SnapshotData, SnapshotMetadata } from './log-entry.js';
import type { MemberState } from './member-state.js';
import type { NodeId } from './messages.js';
import type { RecoverOptions } from './recovered-tail.js';

/**
 * A stored snapshot opened for reading (the state machine's bytes, checksum verified as they are
 * read). Close it when done.
 */
export interface SnapshotReader {
  /** Index, generation and size of the stored snapshot (as sent to followers). */
  readonly metadata: SnapshotMetadata;
  /**
   * The state machine's bytes in order, once; throws `SnapshotCorruptionError` after the last
   * chunk when the checksum does not match.
   */
  chunks(): AsyncIterable<Uint8Array>;
  /** The state machine's bytes in one buffer, checksum verified. */
  readAll(): Promise<Uint8Array>;
  /** Whether every byte has been read and matched the checksum. */
  readonly verified: boolean;
  /** Releases what the reader holds (a file handle). */
  close(): Promise<void>;
}

/** What a node's storage held when it was opened. */
export interface RecoveredNodeState {
  /** The generation and vote (never below the generation of the newest stored entry). */
  readonly hardState: HardState;
  /** This member's storage identity, its peers' and the index it recorded as acknowledged. */
  readonly memberState: MemberState;
  /** The latest snapshot, open for the state machine to restore (the node closes it). */
  readonly snapshot: SnapshotReader | undefined;
  /**
   * The stored entries after the snapshot, in order. Those through `RecoverOptions.appliedThrough`
   * may be hollow, apart from configuration entries and the most recent `keepRecentBytes` of
   * commands (see `RecoveredTail`).
   */
  readonly entries: readonly LogEntry[];
}

/**
 * One Ready's storage work, in the order the core requires (see `Ready`): received snapshot
 * chunks, the snapshot install, the generation and vote, then the entries.
 */
export interface PersistBatch {
  /** Received snapshot chunks, written to the incoming snapshot in order. */
  readonly snapshotChunks: readonly SnapshotChunkToStore[];
  /**
   * The incoming snapshot, now complete, becomes the stored snapshot and the log restarts after
   * it; `restore` is handed the installed snapshot to restore the state machine, and the storage
   * holds every later job until it has resolved.
   */
  readonly snapshotToInstall?: {
    readonly metadata: SnapshotMetadata;
    readonly restore: (snapshot: SnapshotReader) => Promise<void>;
  };
  /** A new generation or vote. */
  readonly hardState?: HardState;
  /**
   * Entries to append; when the first one's index is at or below the last stored index, the
   * stored suffix from there is replaced first (a conflicting suffix).
   */
  readonly entries: readonly LogEntry[];
}

/** A change to the member state, recorded beside the generation and vote. */
export interface MemberStateChange {
  /**
   * The index this member acknowledged and must never lose. The storage records at most what it
   * holds durably and never moves it back.
   */
  readonly acknowledgedIndex?: number;
  /** Peers' storage identities seen for the first time. */
  readonly peerStorageIdsLearned?: ReadonlyMap<NodeId, string>;
  /** A peer reported this member's storage as replaced: it must never start on it again. */
  readonly lostReportedBy?: NodeId;
}

/** A snapshot taken from the state machine, to be stored. */
export interface SnapshotToSave {
  readonly index: number;
  readonly generation: number;
  readonly data: SnapshotData;
  /**
   * The configuration in force at `index`, to keep with the snapshot and hand back in its
   * metadata (a storage that cannot keep it leaves it out: the core then falls back to the
   * initial members on recovery, as for a snapshot of an earlier release).
   */
  readonly configuration?: ClusterConfiguration;
}

/**
 * A node's storage port (hashicorp/raft's log, stable and snapshot stores in one): the log, the
 * generation and vote with the member state, and the latest snapshot. {@link FileNodeStorage}
 * keeps them in a data directory; {@link MemoryNodeStorage} in memory, for tests.
 *
 * Every method but {@link recover} may be called only after it resolved. Promises of
 * {@link persist} settle in the order of the calls, so a node can act on each Ready's
 * durability in Ready order. After any write fails, the storage fails stop: every later call
 * rejects (DESIGN.md §6).
 */
export interface NodeStorage {
  /**
   * Opens the storage (locking it when it is a directory) and reads what it holds; `options` say
   * which entries the state machine holds already, to hand back hollow.
   * @throws MemberStorageLostError when the storage no longer holds what this member
   *   acknowledged; corruption errors naming the file.
   */
  recover(options?: RecoverOptions): Promise<RecoveredNodeState>;
  /** Makes one Ready's work durable; settles after every earlier `persist`. */
  persist(batch: PersistBatch): Promise<void>;
  /** Records a member-state change durably (changes made before the write starts share it). */
  recordMemberState(change: MemberStateChange): Promise<void>;
  /** The member state as last handed to storage. */
  readonly memberState: MemberState;
  /**
   * Stores a snapshot taken here unless a newer one is stored already (installed from the
   * leader meanwhile); resolves with the stored snapshot's metadata.
   */
  saveSnapshot(snapshot: SnapshotToSave): Promise<SnapshotMetadata>;
  /**
   * Reads `length` bytes at `offset` of the stored snapshot (the bytes sent to followers), or
   * resolves undefined when the stored snapshot is no longer the one through `snapshotIndex`.
   */
  readSnapshotRange(
    snapshotIndex: number,
    offset: number,
    length: number,
  ): Promise<Uint8Array | undefined>;
  /**
   * Reads the stored entries `from..to` (inclusive), or resolves undefined when the log no longer
   * holds them all (released, truncated or replaced).
   */
  readEntries(from: number, to: number): Promise<LogEntry[] | undefined>;
  /** Lets the log drop entries below `index` (the low-water mark), in whole segments. */
  releaseBelow(index: number): Promise<void>;
  /** Waits for every job to finish, then closes (and unlocks) the storage. */
  close(): Promise<void>;
}
