import type { HardState, LogEntry, SnapshotMetadata } from './log-entry.js';
import type { NodeId, OutboundMessage } from './messages.js';
import type { ReplicationState } from './follower-progress.js';
import type { ClusterConfiguration } from './cluster-configuration.js';

/** Uniform random numbers in [0, 1); seeded in simulation. */
export interface Random {
  next(): number;
}

/** A server's role. A pre-candidate is asking whether it could win before disturbing anyone. */
export type Role = 'follower' | 'pre-candidate' | 'candidate' | 'leader';

/**
 * Which `@x/heartbeat` failure detector decides that a leader (on a follower) or a follower (on
 * a leader, for check-quorum) is gone: `fixed`, a timeout (randomized per election on followers,
 * the classic behaviour), or `phi`, phi-accrual over the measured intervals between messages.
 */
export type FailureDetectorKind = 'fixed' | 'phi';

/**
 * A coverage mark: a named transition the core reports through `CoreOptions.onCoverage`, so tests
 * and simulations can check that runs exercise it ("sometimes" assertions) without matching log
 * text, which a rewording would silently break.
 */
export type CoverageMark =
  | 'election-started'
  | 'pre-vote-rejected'
  | 'leader-elected'
  | 'stale-leader-stepped-down'
  | 'check-quorum-stepped-down'
  | 'divergent-suffix-truncated'
  | 'snapshot-sent'
  | 'snapshot-installed'
  | 'read-barrier-confirmed'
  | 'configuration-changed'
  | 'learner-promoted'
  | 'leader-removed'
  | 'removed-member-stopped';

/** Phi at and above which the phi-accrual detector suspects a peer, by default (Akka's). */
export const DEFAULT_PHI_THRESHOLD = 8;

/** Options of the deterministic core. Times are in ticks (the driver decides how long a tick is). */
export interface CoreOptions {
  /** This server's id. */
  readonly id: NodeId;
  /**
   * The initial voters: the configuration when neither the log nor the snapshot holds one (a new
   * cluster). Afterwards the configuration lives in the log (see `proposeConfigurationChange`).
   */
  readonly members: readonly NodeId[];
  /**
   * The initial learners, with `members` (default none). A new member joining an existing cluster
   * starts with empty storage, the cluster's voters as `members` and itself as a learner, after
   * the leader added it with `add-learner`.
   */
  readonly learners?: readonly NodeId[];
  /**
   * How many entries a learner may lag behind the leader's last index and still be promoted
   * (etcd 3.4: only a learner in sync with the leader is promoted). Default 1000.
   */
  readonly promoteLagLimit?: number;
  /** Source of election-timeout jitter. */
  readonly random: Random;
  /** Ticks without a leader before a follower campaigns; randomized in [t, 2t). Default 10. */
  readonly electionTimeoutTicks?: number;
  /**
   * Whether the first election timeout after start is drawn from [h, t) ticks (h the heartbeat
   * interval) instead of [t, 2t): a server that starts and hears no leader within a heartbeat
   * or so campaigns early (etcd's initial election tick advance), so a restarted cluster elects
   * a leader sooner. Safe: a server that hears from a leader follows it, and pre-vote keeps a
   * server that starts beside a live leader from disrupting it (peers in a leader's lease
   * refuse). Default false.
   */
  readonly advanceFirstElection?: boolean;
  /**
   * The failure detector (see {@link FailureDetectorKind}), driven by the core's ticks (one tick
   * is one time unit), so runs stay deterministic. Default `fixed`.
   */
  readonly failureDetector?: FailureDetectorKind;
  /**
   * Called synchronously at each {@link CoverageMark} transition (for tests and simulations: it
   * must not call back into the core). Default: none.
   */
  readonly onCoverage?: (mark: CoverageMark) => void;
  /** With `phi`: the threshold at and above which a peer is suspected. Default 8. */
  readonly phiThreshold?: number;
  /** Ticks between leader heartbeats. Default 1. */
  readonly heartbeatIntervalTicks?: number;
  /** Appends in flight per follower before the leader waits for answers. Default 64. */
  readonly maxInflightAppends?: number;
  /** Upper bound on command bytes per append message (at least one entry is sent). Default 1 MiB. */
  readonly maxAppendBytes?: number;
  /** Snapshot bytes per chunk message. Default 256 KiB. */
  readonly snapshotChunkBytes?: number;
  /** Durable voting state from the last run. */
  readonly hardState?: HardState;
  /** The latest durable snapshot; the log starts right after it. */
  readonly snapshot?: SnapshotMetadata;
  /**
   * Durable entries after the snapshot, in order; those through `appliedIndex` may be hollow
   * (see `LogEntry.hollowCommandBytes`), except configuration entries.
   */
  readonly entries?: readonly LogEntry[];
  /**
   * Where the state machine stands at start: the snapshot's index (the default), or later when it
   * kept its own state durably past it (`StateMachine.durableAppliedIndex`). The apply cursor and
   * the high-water mark start there; it must not be beyond the last of `entries`.
   */
  readonly appliedIndex?: number;
  /**
   * This member's storage identity: a random id created with its storage and kept durably with
   * it (at most 64 UTF-8 bytes). Sent on vote requests and on answers to votes, appends and
   * heartbeats; peers
   * remember it and answer a member that shows another one under the same id with
   * `storage-lost`, and never count its vote or acknowledgement. Undefined: no identity is sent
   * and none is checked (tests, single-process use).
   */
  readonly storageId?: string;
  /** The storage identities of peers remembered from earlier runs (see `Ready.peerStorageIdsLearned`). */
  readonly peerStorageIds?: ReadonlyMap<NodeId, string>;
}

/** A peer's storage identity seen for the first time: the driver must remember it durably. */
export interface PeerStorageId {
  readonly member: NodeId;
  readonly storageId: string;
}

/**
 * A follower rejected an append at or below the index it had acknowledged to this leader: it lost
 * acknowledged entries (a forgetful member). The leader no longer counts it for quorum (commit,
 * check-quorum, reads) for the rest of its leadership, and replicates to it from scratch.
 */
export interface LostAcknowledgedEntries {
  readonly member: NodeId;
  /** The highest index it had acknowledged. */
  readonly acknowledgedIndex: number;
  /** The append's previous index it rejected. */
  readonly rejectedIndex: number;
}

/**
 * Why a configuration change was refused at once (a definite error: nothing was appended):
 * - `not-leader`, `leadership-transfer`: as for proposals;
 * - `change-in-flight`: an earlier configuration entry is not committed yet (one change at a time);
 * - `leader-not-ready`: this leader has not committed an entry of its own generation yet (the
 *   fix to single-server changes: an earlier leader's change may still be pending);
 * - `learner-not-caught-up`: the learner to promote lags more than `promoteLagLimit` entries or
 *   has not answered within an election timeout;
 * - `not-enough-started-members`: the new voters would not have a live majority now;
 * - a {@link ConfigurationProblem}-style reason when the change does not apply to the
 *   configuration in force: `already-member`, `not-a-learner`, `not-a-member`, `no-voter`,
 *   `too-many-members`, `bad-member-id`.
 */
export type ConfigurationChangeRefusal =
  | 'not-leader'
  | 'leadership-transfer'
  | 'change-in-flight'
  | 'leader-not-ready'
  | 'learner-not-caught-up'
  | 'not-enough-started-members'
  | 'already-member'
  | 'not-a-learner'
  | 'not-a-member'
  | 'no-voter'
  | 'too-many-members'
  | 'bad-member-id'
  | 'duplicate-member';

/** The result of `proposeConfigurationChange`: where the entry went, or why it was refused. */
export type ConfigurationChangeResult =
  | {
      readonly accepted: true;
      readonly index: number;
      readonly generation: number;
      /** The configuration the entry puts in force. */
      readonly configuration: ClusterConfiguration;
    }
  | {
      readonly accepted: false;
      readonly reason: ConfigurationChangeRefusal;
      readonly leaderId: NodeId | undefined;
      /** What is wrong, for operators. */
      readonly detail: string;
    };

/** Why a proposal was refused at once (a definite error: the entry was not appended). */
export type ProposalRefusal = 'not-leader' | 'leadership-transfer';

/** The result of `propose`: where the entry went, or why it was refused. */
export type ProposalResult =
  | { readonly accepted: true; readonly index: number; readonly generation: number }
  | {
      readonly accepted: false;
      readonly reason: ProposalRefusal;
      readonly leaderId: NodeId | undefined;
    };

/** A linearizable read that may be served once the state machine has applied `index`. */
export interface ReadPermit {
  readonly requestId: number;
  readonly index: number;
}

/** A linearizable read that cannot be confirmed here (definite: nothing was changed). */
export interface ReadRefusal {
  readonly requestId: number;
  readonly reason: 'not-leader' | 'leadership-lost';
  readonly leaderId: NodeId | undefined;
}

/**
 * A leader asks its driver to send one chunk of its durable snapshot: read `length` bytes at
 * `offset` of the snapshot through `snapshotIndex` and send them to `to` as a `snapshot-chunk`
 * message with these fields. When the driver's snapshot is no longer that one (a newer snapshot
 * replaced it), it drops the request: the leader moves the follower to the newer snapshot.
 */
export interface SnapshotChunkToSend {
  readonly to: NodeId;
  readonly generation: number;
  readonly snapshotIndex: number;
  readonly snapshotGeneration: number;
  readonly offset: number;
  readonly length: number;
  readonly totalBytes: number;
  /** The snapshot's configuration, to send with the chunk (see `SnapshotChunk.configuration`). */
  readonly configuration?: ClusterConfiguration;
}

/**
 * A follower received the next chunk of a leader's snapshot: write `data` at `offset` of the
 * incoming snapshot (offset 0 starts it afresh). The chunk need not be durable on its own: the
 * whole snapshot is made durable when it is installed.
 */
export interface SnapshotChunkToStore {
  readonly snapshotIndex: number;
  readonly snapshotGeneration: number;
  readonly offset: number;
  readonly totalBytes: number;
  readonly data: Uint8Array;
}

/**
 * A leader asks its driver to load entries whose command bytes it dropped from memory (the payload
 * window) for an append to `peer`: read the entries `from..to` (inclusive; `bytes` command bytes
 * in all) from the log and hand them back with `LeaderFollowerCore.entriesLoaded` (undefined when
 * the log no longer holds them all: the append is then dropped, as a lossy network would drop it,
 * and the leader retries or sends the snapshot). The core then emits the append, whole; the
 * peer's later messages wait behind it, so they still go out in order. It asks for one load per
 * peer at a time.
 */
export interface EntriesToLoad {
  readonly peer: NodeId;
  /** First entry to load. */
  readonly from: number;
  /** Last entry to load (inclusive). */
  readonly to: number;
  /** Command bytes of the entries to load. */
  readonly bytes: number;
}

/**
 * Everything the driver must do after feeding inputs, in this order:
 * 1. send `messagesToSendNow` (the leader's appends may go before its own fsync), and the
 *    `snapshotChunksToSend`, read from its durable snapshot; load the `entriesToLoad` and hand
 *    them back (any time: appends are built from them then);
 * 2. persist `snapshotChunksToStore` (in order), then `snapshotToInstall` (the incoming snapshot,
 *    now complete, becomes the durable snapshot and the log restarts after it), then `hardState`,
 *    then `entriesToPersist` (if the first entry's index is at or below the last stored index,
 *    the stored suffix from there is replaced);
 * 3. only when step 2 is durable: send `messagesAfterPersist`, report `persisted()`;
 * 4. restore `snapshotToInstall` into the state machine, apply `committedEntries` in order;
 * 5. serve each permitted read once the state machine has applied its index.
 */
export interface Ready {
  readonly hardState: HardState | undefined;
  readonly entriesToPersist: readonly LogEntry[];
  readonly snapshotChunksToStore: readonly SnapshotChunkToStore[];
  readonly snapshotToInstall: SnapshotMetadata | undefined;
  readonly snapshotChunksToSend: readonly SnapshotChunkToSend[];
  /** Entries the leader needs read back from the log for appends (see {@link EntriesToLoad}). */
  readonly entriesToLoad: readonly EntriesToLoad[];
  readonly messagesToSendNow: readonly OutboundMessage[];
  readonly messagesAfterPersist: readonly OutboundMessage[];
  readonly committedEntries: readonly LogEntry[];
  readonly readsPermitted: readonly ReadPermit[];
  readonly readsRefused: readonly ReadRefusal[];
  /** Peers' storage identities seen for the first time: remember them durably (any time). */
  readonly peerStorageIdsLearned: readonly PeerStorageId[];
  /** Followers found to have lost entries they acknowledged (report them to operators). */
  readonly lostAcknowledgedEntries: readonly LostAcknowledgedEntries[];
  /**
   * True once (in one Ready): a committed configuration entry removed this server from the
   * cluster. It no longer votes or campaigns; the driver should stop it.
   */
  readonly removedFromCluster: boolean;
}

/** The leader's view of one follower, for operators. */
export interface FollowerStatus {
  readonly id: NodeId;
  readonly matchIndex: number;
  readonly nextIndex: number;
  /** Entries the follower is behind the leader's last index. */
  readonly lag: number;
  readonly state: ReplicationState;
  readonly inflightAppends: number;
  /** Ticks since the follower last answered. */
  readonly ticksSinceResponse: number;
  /** Whether it is a learner (it receives the log but is never counted). */
  readonly learner: boolean;
  /** Whether it lost acknowledged entries this leadership (then it is not counted for quorum). */
  readonly lostAcknowledgedEntries: boolean;
  /** Whether the leader's failure detector suspects it now (it is then not live for check-quorum). */
  readonly suspected: boolean;
  /**
   * Whether the leader counts it live for check-quorum: heard from in this leadership and not
   * suspected (a follower never heard from since the election is not suspected, but not live).
   */
  readonly live: boolean;
  /** Its phi now, with the phi-accrual detector. */
  readonly phi?: number;
}

/** A server's state, for operators and tests. */
export interface CoreStatus {
  readonly id: NodeId;
  readonly role: Role;
  readonly generation: number;
  readonly votedFor: NodeId | undefined;
  readonly leaderId: NodeId | undefined;
  readonly lastIndex: number;
  readonly lastGeneration: number;
  /** Highest index stored durably on this server. */
  readonly durableIndex: number;
  /** The high-water mark: the highest index known stored on a majority (committed). */
  readonly highWaterMark: number;
  /**
   * The low-water mark: the highest index released from the in-memory log (covered by a
   * snapshot); a follower behind it is sent the snapshot.
   */
  readonly lowWaterMark: number;
  /** Index of the latest snapshot (at or above the low-water mark: entries after it may be retained). */
  readonly snapshotIndex: number;
  readonly appliedIndex: number;
  /** Ticks since this server last heard from a leader (followers) or ran check-quorum (leader). */
  readonly ticksSinceLeaderContact: number;
  readonly transferTarget: NodeId | undefined;
  /** The failure detector in use. */
  readonly failureDetector: FailureDetectorKind;
  /** On a follower or candidate: whether its failure detector suspects the leader now. */
  readonly leaderSuspected: boolean;
  /** On a follower or candidate with the phi-accrual detector: the leader's phi now. */
  readonly leaderPhi?: number;
  /** Per-follower replication, on the leader only (empty elsewhere). */
  readonly followers: readonly FollowerStatus[];
  /** The configuration in force (the latest in this server's log, committed or not). */
  readonly configuration: ClusterConfiguration;
  /** Index of the latest configuration entry in the log (0: the snapshot's or initial one). */
  readonly configurationIndex: number;
}
