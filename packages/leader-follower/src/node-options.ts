import type { FileSystem, WriteAheadLogOptions } from '@x/wal';
import type {
  CoreStatus,
  CoverageMark,
  FailureDetectorKind,
  FollowerStatus,
  Random,
} from './core-types.js';
import type { NodeId } from './messages.js';
import type { NodeStorage } from './node-storage.js';
import type { Clock, Logger, NodeObserver, StateMachine, Timers, Transport } from './node-ports.js';

/** Options of `LeaderFollowerNode.open`. Times are in milliseconds. */
export interface LeaderFollowerNodeOptions {
  readonly id: NodeId;
  /**
   * The initial voters, this node included unless it joins as a learner: the configuration
   * until the log or a snapshot holds one (see `CoreOptions.members`).
   */
  readonly members: readonly NodeId[];
  /**
   * The initial learners (see `CoreOptions.learners`): a new member joining an existing cluster
   * lists itself here, with the cluster's voters as `members`. Default none.
   */
  readonly learners?: readonly NodeId[];
  /** Entries a learner may lag and still be promoted (see `CoreOptions.promoteLagLimit`). */
  readonly promoteLagLimit?: number;
  readonly transport: Transport;
  readonly stateMachine: StateMachine;
  /**
   * Where the node keeps its log, generation, vote and snapshots. Default: a
   * `FileNodeStorage` over `fileSystem` in `dataDirectory` (both then required), tuned by
   * `wal`.
   */
  readonly storage?: NodeStorage;
  /** The file system of the default `FileNodeStorage`. */
  readonly fileSystem?: FileSystem;
  /** Directory of the default `FileNodeStorage`; locked while open. */
  readonly dataDirectory?: string;
  readonly clock: Clock;
  readonly timers: Timers;
  /** Election-timeout jitter. */
  readonly random: Random;
  readonly logger?: Logger;
  /** Hooks for metrics (fsync and apply durations, leader changes, applied index). */
  readonly observer?: NodeObserver;
  /**
   * Called once if the node fails stop: a storage error, a safety violation, or
   * {@link MemberStorageLostError} when a peer reports that this member's storage was replaced.
   * The node has stopped (and logged the error once); the process should exit.
   */
  readonly onFatalError?: (error: unknown) => void;
  /**
   * Record the index this member durably acknowledged (see the README: a forgetful member) each
   * time it has moved this many entries, besides every generation or vote change. Each record
   * costs one small atomic file write, so this bounds that cost to one per this many entries; a
   * log found shorter than the recorded index on open is refused. Default 1024.
   */
  readonly recordAcknowledgedEveryEntries?: number;
  /** One tick in milliseconds: the resolution of every timeout below. Default 100. */
  readonly tickMs?: number;
  /**
   * Ticks between leader heartbeats. Default 1. Shorter ticks with several per heartbeat give the
   * randomized election timeout a finer grain, so two followers rarely time out on the same tick.
   */
  readonly heartbeatIntervalTicks?: number;
  /** The failure detector of the core (see `CoreOptions.failureDetector`). Default `fixed`. */
  readonly failureDetector?: FailureDetectorKind;
  /** The core's coverage marks (see `CoreOptions.onCoverage`), for tests and simulations. */
  readonly onCoverage?: (mark: CoverageMark) => void;
  /**
   * Whether this node, once started, campaigns after [heartbeat interval, election timeout)
   * instead of [election timeout, 2x) when it hears no leader (see the core's option of the same
   * name): a restarted cluster elects a leader about an election timeout sooner. Default true.
   */
  readonly advanceFirstElection?: boolean;
  /** Election timeout in ticks, randomized in [t, 2t). Default 10 (1000-2000 ms at 100 ms ticks). */
  readonly electionTimeoutTicks?: number;
  /** Largest command accepted. Default 1 MiB. */
  readonly maxCommandBytes?: number;
  /**
   * Proposals that may wait to be applied here at once; past it `propose` rejects at once with
   * `TooManyRequestsError` (nothing is appended). Default 65536.
   */
  readonly maxPendingProposals?: number;
  /**
   * Command bytes this leader may have proposed and not yet committed (etcd's
   * MaxUncommittedEntriesSize); past it `propose` rejects at once with `TooManyRequestsError`.
   * One proposal is always admitted when nothing is uncommitted. Default 256 MiB.
   */
  readonly maxUncommittedBytes?: number;
  /**
   * Linearizable reads that may wait (for confirmation or to be applied) at once; past it
   * `readBarrier` rejects at once with `TooManyRequestsError`. Default 65536.
   */
  readonly maxPendingReads?: number;
  /** How long a proposal may wait before it fails as indeterminate. Default 5000. */
  readonly proposalTimeoutMs?: number;
  /** How long a linearizable read may wait for confirmation. Default 5000. */
  readonly readTimeoutMs?: number;
  /** Take a snapshot once this many entries were applied since the last one. Default 10000. */
  readonly snapshotEveryEntries?: number;
  /**
   * Take a snapshot also once the entries applied since the last one hold this many command
   * bytes, whatever their count: the log since the last snapshot, which a restart reads, is then
   * bounded in bytes as well as in entries (large entries would otherwise grow it to
   * `snapshotEveryEntries` times their size). Default `Infinity` (entries only).
   */
  readonly snapshotEveryBytes?: number;
  /** Entries kept in the log below a snapshot, to spare slightly-behind followers a snapshot. Default 1000. */
  readonly retainEntriesAfterSnapshot?: number;
  /** Appends in flight per follower. Default 64. */
  readonly maxInflightAppends?: number;
  /** Command bytes per append message. Default 1 MiB. */
  readonly maxAppendBytes?: number;
  /** Snapshot bytes per message. Default 256 KiB. */
  readonly snapshotChunkBytes?: number;
  /**
   * The payload window, in bytes: the in-memory log keeps the command bytes of at most this many
   * bytes of the most recent entries once they are applied and durable, and drops the older
   * ones' (entries not yet applied or durable always keep theirs). Entries for a follower that
   * lags behind the window are read back from storage when the core asks for them. Default
   * 16 MiB; 0 keeps no payload once applied and durable; `Infinity` keeps every payload until
   * the snapshot compacts the log.
   */
  readonly payloadCacheBytes?: number;
  /**
   * Write-ahead log tuning of the default `FileNodeStorage`: segment size, and durability (anything but the default `group` is
   * unsafe outside tests).
   */
  readonly wal?: Pick<WriteAheadLogOptions, 'durability' | 'maxSegmentBytes' | 'syncIntervalMs'>;
}

/** The leader's view of one follower, with its last answer's age in milliseconds. */
export interface NodeFollowerStatus extends FollowerStatus {
  /** Milliseconds (to the tick) since the follower last answered. */
  readonly lastResponseAgeMs: number;
}

/** A node's status for operators: the core's view plus times in milliseconds. */
export interface NodeStatus extends CoreStatus {
  readonly followers: readonly NodeFollowerStatus[];
  /** Milliseconds since this node last heard from a leader (0 on the leader). */
  readonly lastHeartbeatAgeMs: number;
  /** Proposals waiting to be applied here (bounded by `maxPendingProposals`). */
  readonly pendingProposals: number;
  /** Linearizable reads waiting here (bounded by `maxPendingReads`). */
  readonly pendingReads: number;
  /** Command bytes this leader proposed that are not yet committed (bounded by `maxUncommittedBytes`). */
  readonly uncommittedBytes: number;
}
