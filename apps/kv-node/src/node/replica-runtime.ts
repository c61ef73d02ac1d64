import type { NodeConfig } from '../config/node-config.js';
import type { Logger } from '../logging/logger.js';
import type { NodeMetrics } from '../metrics/node-metrics.js';
import type { LocalReplica } from './local-replica.js';
import type { NodeTransport } from './transport.js';
import type { Membership } from '../membership/membership-service.js';
import type { InquiredMember } from '../membership/cluster-inquiry.js';

/** A running replica: the log, its driver and the peer transport. */
export interface ReplicaRuntime {
  replica: LocalReplica;
  /** kv-node's share of the peer transport (for forwarding to the leader). */
  nodeTransport: NodeTransport;
  /** Membership changes (etcd's Cluster API), when the replica supports them. */
  membership?: Membership;
  /** Resolves (or rejects) when the replica stops on its own, e.g. after a log failure. */
  failed: Promise<Error>;
  /** Hands leadership to another member if this one leads; resolves when done or given up. */
  transferLeadership(): Promise<void>;
  /** Stops replicating and closes the log and the transport. */
  close(): Promise<void>;
}

/** What starting a replica needs. */
export interface ReplicaStartOptions {
  config: NodeConfig;
  logger: Logger;
  metrics: NodeMetrics;
  /** The shared secret that authenticates peer connections. */
  peerSecret: string;
  /**
   * This member's id in `@x/leader-follower` and on the peer transport (default its name): see
   * `DataDirectoryIdentity.replicationId`.
   */
  replicationId?: string;
  /** A new member joining a running cluster: it starts as a learner and waits for the leader. */
  joining?: boolean;
  /**
   * For a joining member, the members in force as a running member answered (see
   * join-cluster.ts): the transport admits exactly these peers, and the node starts from this
   * configuration until the leader sends it the log.
   */
  joinedMembers?: readonly InquiredMember[];
}

/** Starts a replica (the real one wraps `@x/leader-follower`; tests may pass another). */
export type ReplicaStarter = (options: ReplicaStartOptions) => Promise<ReplicaRuntime>;
