import type { NodeConfig } from '../config/node-config.js';
import type { Logger } from '../logging/logger.js';
import type { NodeMetrics } from '../metrics/node-metrics.js';
import type { LocalReplica } from './local-replica.js';
import type { NodeTransport } from './transport.js';

/** A running replica: the log, its driver and the peer transport. */
export interface ReplicaRuntime {
  replica: LocalReplica;
  /** kv-node's share of the peer transport (for forwarding to the leader). */
  nodeTransport: NodeTransport;
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
}

/** Starts a replica (the real one wraps `@x/leader-follower`; tests may pass another). */
export type ReplicaStarter = (options: ReplicaStartOptions) => Promise<ReplicaRuntime>;
