import type { Message, NodeId } from './messages.js';
import type { ReadyOutbox } from './ready-outbox.js';
import type { ReplicaState } from './replica-state.js';
import type { StorageIdentities } from './storage-identities.js';
import type { CoverageMark, Role } from './core-types.js';
import type { ClusterConfiguration } from './cluster-configuration.js';

/**
 * What the core's role parts (election, leader replication, follower replication) see of the
 * core's façade. The façade alone owns generation, vote and role: the parts read them here and
 * ask the façade for every change.
 */
export interface CoreContext {
  readonly id: NodeId;
  /**
   * The configuration in force: the latest configuration entry in this server's log, committed or
   * not, else its snapshot's, else the initial members (docs/design.md, "Membership changes").
   * Every quorum follows its voters; learners are never counted.
   */
  readonly configuration: ClusterConfiguration;
  readonly generation: number;
  readonly votedFor: NodeId | undefined;
  readonly role: Role;
  readonly leaderId: NodeId | undefined;
  readonly replica: ReplicaState;
  readonly outbox: ReadyOutbox;
  readonly identities: StorageIdentities;
  /** Reports a coverage mark (see `CoreOptions.onCoverage`). */
  cover(mark: CoverageMark): void;
  /** Queues a message (see {@link ReadyOutbox.send}). */
  send(to: NodeId, message: Message): void;
  /** Whether `member` is a voter of the configuration in force. */
  isVoter(member: NodeId): boolean;
  /** Steps down (or stays) a follower in `generation`, following `leader` if known. */
  becomeFollower(generation: number, leader: NodeId | undefined): void;
}

/** What the election additionally asks of the façade. */
export interface ElectionContext extends CoreContext {
  /** Ticks since this server last heard from a leader, or (a leader) ran check-quorum. */
  ticksSinceLeaderContact(): number;
  /** Becomes a pre-candidate: asks for pre-votes without touching the generation. */
  becomePreCandidate(): void;
  /** Becomes a candidate: bumps the generation and votes for itself. */
  becomeCandidate(): void;
  becomeLeader(): void;
  /** Records this server's vote in the current generation. */
  recordVote(candidate: NodeId): void;
}
