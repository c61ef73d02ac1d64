import type { ClusterConfiguration } from './cluster-configuration.js';
import type { LogEntry } from './log-entry.js';

/** Identifies a server in the cluster (the same string the transport uses). */
export type NodeId = string;

/**
 * A candidate (or, with `preVote`, a would-be candidate) asks for a vote. With `preVote` the
 * generation is the one the sender WOULD use; nobody changes state for a pre-vote.
 */
export interface VoteRequest {
  readonly kind: 'vote-request';
  readonly generation: number;
  readonly preVote: boolean;
  /** Set when the current leader handed over leadership: voters skip their leader-lease check. */
  readonly leadershipTransfer: boolean;
  readonly lastLogIndex: number;
  readonly lastLogGeneration: number;
  /**
   * The sender's storage identity (see `CoreOptions.storageId`), when it uses one: peers remember
   * it and answer a member that comes back under its name with another one with `storage-lost`.
   */
  readonly storageId?: string;
}

/** The answer to a vote request. */
export interface VoteResponse {
  readonly kind: 'vote-response';
  readonly generation: number;
  readonly preVote: boolean;
  readonly granted: boolean;
  /**
   * The sender's storage identity (see `CoreOptions.storageId`), when it uses one: peers remember
   * it and answer a member that comes back under its name with another one with `storage-lost`.
   */
  readonly storageId?: string;
}

/** The leader replicates entries that follow (prevIndex, prevGeneration). */
export interface AppendRequest {
  readonly kind: 'append';
  readonly generation: number;
  readonly prevIndex: number;
  readonly prevGeneration: number;
  readonly entries: readonly LogEntry[];
  /** The leader's high-water mark (commit index). */
  readonly highWaterMark: number;
}

/**
 * A follower's answer to an append. On success `index` is the last index known to match the
 * leader; on rejection `index` is the rejected prevIndex and (hintIndex, hintGeneration) tell the
 * leader where to probe next, skipping a whole divergent generation at once.
 */
export interface AppendResponse {
  readonly kind: 'append-response';
  readonly generation: number;
  readonly rejected: boolean;
  readonly index: number;
  readonly hintIndex: number;
  readonly hintGeneration: number;
  /**
   * The sender's storage identity (see `CoreOptions.storageId`), when it uses one: peers remember
   * it and answer a member that comes back under its name with another one with `storage-lost`.
   */
  readonly storageId?: string;
}

/**
 * Leader liveness and read confirmation. `highWaterMark` is capped at what the follower is known
 * to hold; `readRound` numbers the linearizable-read confirmation round it belongs to.
 */
export interface Heartbeat {
  readonly kind: 'heartbeat';
  readonly generation: number;
  readonly highWaterMark: number;
  readonly readRound: number;
  /**
   * The storage identities the leader remembers (itself included), so that every member learns
   * every other's, not only those it exchanged votes or appends with: a member that comes back
   * with replaced storage is then recognised by whichever peers are up. Absent when empty.
   */
  readonly storageIds?: readonly MemberStorageId[];
}

/** A member and its storage identity, as carried on heartbeats. */
export interface MemberStorageId {
  readonly member: NodeId;
  readonly storageId: string;
}

/** A follower acknowledges a heartbeat (and with it, the read round). */
export interface HeartbeatResponse {
  readonly kind: 'heartbeat-response';
  readonly generation: number;
  readonly readRound: number;
  /**
   * The sender's storage identity, when it uses one: a follower that is caught up sends nothing
   * else, so a leader learns here that a member came back with replaced storage.
   */
  readonly storageId?: string;
}

/** One chunk of a snapshot sent to a follower that is behind the leader's low-water mark. */
export interface SnapshotChunk {
  readonly kind: 'snapshot-chunk';
  readonly generation: number;
  readonly snapshotIndex: number;
  readonly snapshotGeneration: number;
  /** Byte offset of `data` in the whole snapshot. */
  readonly offset: number;
  /** Total snapshot size in bytes. */
  readonly totalBytes: number;
  readonly data: Uint8Array;
  /**
   * The configuration the snapshot records (see `SnapshotMetadata.configuration`); sent on every
   * chunk, used with the last. Absent from leaders of earlier releases.
   */
  readonly configuration?: ClusterConfiguration;
}

/**
 * A follower's progress on a snapshot: `nextOffset` is the next byte it wants; `installedIndex`
 * is set (non-zero) once the whole snapshot is in place; `rejected` asks the leader to restart.
 */
export interface SnapshotResponse {
  readonly kind: 'snapshot-response';
  readonly generation: number;
  readonly snapshotIndex: number;
  readonly nextOffset: number;
  readonly installedIndex: number;
  readonly rejected: boolean;
}

/** Leadership transfer: the leader tells a caught-up follower to start an election right now. */
export interface TimeoutNow {
  readonly kind: 'timeout-now';
  readonly generation: number;
}

/**
 * A peer remembers the sender under another storage identity: the sender's storage was replaced
 * (an emptied or deleted data directory) and no longer holds what it acknowledged or voted. The
 * sender must stop at once (fail-stop) and never vote or acknowledge with that storage.
 */
export interface StorageLost {
  readonly kind: 'storage-lost';
  readonly generation: number;
  /** The identity the member showed (its storage now). */
  readonly storageId: string;
  /** The identity the peer remembers for it. */
  readonly rememberedStorageId: string;
}

/** Every message servers exchange. */
export type Message =
  | VoteRequest
  | VoteResponse
  | AppendRequest
  | AppendResponse
  | Heartbeat
  | HeartbeatResponse
  | SnapshotChunk
  | SnapshotResponse
  | TimeoutNow
  | StorageLost;

/** A message addressed to a peer. */
export interface OutboundMessage {
  readonly to: NodeId;
  readonly message: Message;
}
