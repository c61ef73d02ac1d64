import type { NodeStatus } from '../http/kv-backend.js';
import type { KvStore } from '../store/kv-store.js';
import type { ApplyOutcome } from '../store/kv-state-machine.js';

/**
 * This node's replica of the log as the rest of kv-node sees it: the leader proposes and
 * confirms reads here; followers only report who leads. Implemented over `@x/leader-follower`'s
 * driver.
 *
 * Failures reject with an `ApiError`: 503 (definite) when not leader or without quorum, 504
 * (indeterminate) when the outcome of a proposal is unknown.
 */
export interface LocalReplica {
  /** The local store the state machine applies to. */
  readonly store: KvStore;
  /** Whether this node is the leader now. */
  isLeader(): boolean;
  /** Name of the member this node believes leads, if any. */
  leaderName(): string | undefined;
  /** Proposes an encoded command (leader only) and resolves with its outcome once applied. */
  propose(command: Uint8Array): Promise<ApplyOutcome>;
  /**
   * Confirms leadership with a quorum (leader only) and resolves with the log index a
   * linearizable read must wait for (the high-water mark when the read arrived).
   */
  readBarrier(): Promise<number>;
  /** Resolves once the local state machine has applied `index`. */
  waitForApplied(index: number): Promise<void>;
  /** This node's view of the cluster. */
  status(): NodeStatus;
}
