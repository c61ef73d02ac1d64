/**
 * The port between the HTTP API and the replicated node: write through the log, make a read
 * linearizable, read the local store, report status. The real implementation wraps
 * `@x/leader-follower` and forwards to the leader when this node is a follower; tests use a
 * double that applies to one state machine.
 */

import type { StoreDiskUsage } from '../store/state-store.js';
import type { Membership } from '../membership/membership-service.js';
import type { KvCommand } from '../codec/command-codec.js';
import type { AuthState } from '../auth/auth-state.js';
import type { LeaseAnswer, LeaseQuery } from '../lease/lease-driver.js';
import type { LeaseTable } from '../lease/lease-table.js';
import type { KvStore } from '../store/kv-store.js';
import type { AlarmTable } from '../store/maintenance-command.js';
import type { ApplyOutcome } from '../store/kv-state-machine.js';

/** The role of a node in its cluster. */
export type NodeRole = 'leader' | 'follower' | 'candidate' | 'unknown';

/** One member of the cluster as this node sees it. */
export interface MemberStatus {
  /** Member id: a 64-bit unsigned integer as a decimal string (etcd's form). */
  id: string;
  name: string;
  peerUrls: string[];
  clientUrls: string[];
  role: NodeRole;
  /** A learner: receives the log, never votes or counts for quorum (etcd's `isLearner`). */
  isLearner?: boolean;
  /** Highest log index known to be stored on the member (from the leader's view). */
  matchIndex?: number;
  /** Entries the member is behind the leader's last index. */
  lag?: number;
  /** Milliseconds since the leader last heard from the member. */
  lastContactAgoMs?: number;
  /**
   * Whether this node's failure detector (`@x/heartbeat`'s, `--failure-detector`) suspects the
   * member now: a leader's view of each follower, a follower's view of its leader.
   */
  suspected?: boolean;
  /** The member's phi now, with `--failure-detector phi`. */
  phi?: number;
}

/**
 * How a leadership transfer request was taken: `started` (the leader asked the target to take
 * over, or the target already leads), `not_leader` (this member does not lead), `bad_transferee`
 * (no member has that id).
 */
export type LeaderTransferStart = 'started' | 'not_leader' | 'bad_transferee';

/**
 * This member's view of the cluster: its own role and indexes and every member as it sees them.
 * (`@x/leader-follower`'s `NodeStatus` is the replica's own status, from which this is built.)
 */
export interface ClusterStatus {
  clusterId: string;
  memberId: string;
  name: string;
  role: NodeRole;
  /** The current generation (Raft's term). */
  generation: number;
  /** Member id of the leader this node follows, if any. */
  leaderId: string | undefined;
  /** Last index of the local log. */
  lastLogIndex: number;
  /** High-water mark (Raft's commit index); `commit_index` in `/v1/cluster`. */
  highWaterMark: number;
  /** Index of the last entry applied to the local store. */
  appliedIndex: number;
  /** Index of the latest snapshot (`snapshot_index` in `/v1/cluster`). */
  snapshotIndex: number;
  /**
   * Low-water mark: the highest index released from the log (`low_water_mark` in `/v1/cluster`);
   * at or below {@link ClusterStatus.snapshotIndex}, since entries after a snapshot are retained
   * for followers that lag a little.
   */
  lowWaterMark: number;
  /** The failure detector that decides suspicion (`--failure-detector`). */
  failureDetector?: 'fixed' | 'phi';
  members: MemberStatus[];
}

/**
 * What the HTTP API needs from the node.
 *
 * Methods reject with {@link ApiError} for classified failures: 503 `unavailable` when the write
 * or read definitely did not happen, 504 `indeterminate` when a write's outcome is unknown.
 */
export interface KvBackend {
  /** The local store: reads of it are serializable (possibly stale on a follower). */
  readonly store: KvStore;
  /** The local auth state (users, roles, permissions); as fresh as {@link KvBackend.store}. */
  readonly auth: AuthState;
  /** The local lease table (leases and their keys); as fresh as {@link KvBackend.store}. */
  readonly leases: LeaseTable;
  /**
   * Asks the leader's lease clock (a keep-alive renews the lease): resolves with the lease's
   * granted and remaining TTL, or `undefined` when there is no such lease. Never enters the log.
   */
  leaseQuery(query: LeaseQuery): Promise<LeaseAnswer>;
  /** The raised alarms (see `store/maintenance-command.ts`); as fresh as the store. */
  readonly alarms: AlarmTable;
  /** Replicates a write, waits until it is applied, and resolves with the outcome. */
  write(command: KvCommand): Promise<ApplyOutcome>;
  /**
   * The read barrier: resolves once the local store reflects every write acknowledged (anywhere
   * in the cluster) before the call, so a read made right after is linearizable.
   */
  readBarrier(): Promise<void>;
  /** A snapshot of this node's view of the cluster. */
  status(): ClusterStatus;
  /**
   * Asks this member, if it leads, to hand leadership to the member with id `toMemberId`
   * (decimal string); resolves once asked, not once done (watch {@link KvBackend.status}'s
   * `leaderId`). Absent where there is no replica to transfer (leaderless mode, test doubles).
   */
  transferLeadership?(toMemberId: string): Promise<LeaderTransferStart>;
  /**
   * This member's whole state (keys, history, leases, auth, alarms) in the state machine's
   * snapshot format, captured when called and encoded lazily chunk by chunk. Absent where there
   * is no state machine to snapshot (test doubles).
   */
  snapshotChunks?(): Iterable<Uint8Array>;
  /**
   * A durable state store's file: its size and the part in use (etcd's `dbSize` and
   * `dbSizeInUse`); `undefined` (or absent) when the state is in memory.
   */
  diskUsage?(): StoreDiskUsage | undefined;
  /**
   * Membership changes (etcd's Cluster API): undefined while the node starts and in quorum mode,
   * where members are fixed by `--initial-cluster`.
   */
  membership?(): Membership | undefined;
}
