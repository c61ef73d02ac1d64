import type { NodeId } from './messages.js';
import type { ConfigurationChangeRefusal } from './core-types.js';

/**
 * Base of every error a node's `propose` or `readBarrier` rejects with (DESIGN.md §5 rule 8).
 * `definite` is true when the operation was not applied and never will be; false when it may or
 * may not have been applied (the caller must not assume either).
 */
export abstract class LeaderFollowerError extends Error {
  /** True: certainly not applied, never will be. False: the outcome is unknown. */
  abstract readonly definite: boolean;
}

/**
 * This server is not the leader; `leaderId` names the leader when known. Definite. `reason` is
 * `leadership-transfer` while this leader hands over and refuses new proposals.
 */
export class NotLeaderError extends LeaderFollowerError {
  override readonly name = 'NotLeaderError';
  readonly definite = true;
  constructor(
    readonly leaderId: NodeId | undefined,
    readonly reason: 'not-leader' | 'leadership-transfer' = 'not-leader',
  ) {
    super(
      reason === 'leadership-transfer'
        ? 'leadership is being transferred'
        : leaderId === undefined
          ? 'not the leader; leader unknown'
          : `not the leader; try ${leaderId}`,
    );
  }
}

/**
 * A linearizable read could not be confirmed in time: no majority answered. Definite: a read
 * changes nothing.
 */
export class NoQuorumError extends LeaderFollowerError {
  override readonly name = 'NoQuorumError';
  readonly definite = true;
}

/**
 * The outcome of a proposal is unknown: it timed out or the node stopped while it was in flight.
 * The entry may still be committed and applied later. Never definite.
 */
export class IndeterminateOutcomeError extends LeaderFollowerError {
  override readonly name = 'IndeterminateOutcomeError';
  readonly definite = false;
}

/**
 * A membership change was refused at once: nothing was appended. Definite. `reason` says why (see
 * `ConfigurationChangeRefusal`: another change in flight, a leader that has not committed an
 * entry of its generation yet, a learner not caught up, ...); the message is etcd's wording where
 * etcd has one.
 */
export class ConfigurationChangeRefusedError extends LeaderFollowerError {
  override readonly name = 'ConfigurationChangeRefusedError';
  readonly definite = true;
  constructor(
    readonly reason: ConfigurationChangeRefusal,
    message: string,
  ) {
    super(message);
  }
}

/** The command is larger than the node's `maxCommandBytes`. Definite. */
export class ProposalTooLargeError extends LeaderFollowerError {
  override readonly name = 'ProposalTooLargeError';
  readonly definite = true;
  constructor(
    readonly sizeBytes: number,
    readonly maxBytes: number,
  ) {
    super(`command of ${sizeBytes} bytes exceeds the limit of ${maxBytes} bytes`);
  }
}

/**
 * The proposal's log slot was taken by another leader's committed entry: it was not applied and
 * never will be. Definite.
 */
export class ProposalDroppedError extends LeaderFollowerError {
  override readonly name = 'ProposalDroppedError';
  readonly definite = true;
}

/** The node is closed or stopped after a storage failure; nothing new is accepted. Definite. */
export class NodeStoppedError extends LeaderFollowerError {
  override readonly name = 'NodeStoppedError';
  readonly definite = true;
}

/**
 * Why a member's storage cannot be trusted to hold what it acknowledged or voted:
 * - `reported-by-peer`: a peer remembers this member under another storage identity (its data
 *   directory was emptied, deleted or replaced while peers kept running);
 * - `marked-lost`: an earlier run stopped for that reason and recorded it;
 * - `log-missing`: the member's state file exists but no log directory does;
 * - `log-shorter-than-acknowledged`: the log ends before an index the member recorded as durably
 *   acknowledged (segments deleted, emptied or restored from an older copy);
 * - `log-gap`: the log starts after the snapshot ends, so the entries between are gone;
 * - `log-shorter-than-applied`: the log ends before the state machine's durable applied index
 *   (`StateMachine.durableAppliedIndex`), so committed entries it applied are gone from the log.
 */
export type StorageLossKind =
  | 'reported-by-peer'
  | 'marked-lost'
  | 'log-missing'
  | 'log-shorter-than-acknowledged'
  | 'log-gap'
  | 'log-shorter-than-applied';

/**
 * This member's storage lost what it acknowledged or voted (a forgetful member): it refuses to
 * start, or stops at once when a peer reports it, because voting or acknowledging with a
 * shorter log could elect a stale leader and lose committed entries. Recovering needs an
 * operator (see the package README and kv-node's operations guide); do not delete files to make
 * it start.
 */
export class MemberStorageLostError extends Error {
  override readonly name = 'MemberStorageLostError';
  constructor(
    /** This member's id. */
    readonly member: NodeId,
    /** What showed the loss. */
    readonly kind: StorageLossKind,
    /** What was found, naming the file, peer or index involved. */
    readonly detail: string,
    /** The peer that reported it (for `reported-by-peer` and `marked-lost`). */
    readonly reportedBy?: NodeId,
  ) {
    super(`member ${member} lost acknowledged state (${kind}): ${detail}`);
  }
}

/** Which bound of a node's pending work refused a request (see `LeaderFollowerNodeOptions`). */
export type PendingWorkBound = 'pending-proposals' | 'uncommitted-bytes' | 'pending-reads';

/**
 * The node holds as much pending work as it is allowed to (proposals waiting to be applied, bytes
 * proposed and not yet committed, or linearizable reads waiting): the request was refused at
 * once and nothing was appended. Definite. Retry after about `retryAfterMs` milliseconds, by when
 * some of the backlog should have been committed.
 */
export class TooManyRequestsError extends LeaderFollowerError {
  override readonly name = 'TooManyRequestsError';
  readonly definite = true;
  constructor(
    /** The bound that was reached. */
    readonly bound: PendingWorkBound,
    /** Its limit (a count, or bytes for `uncommitted-bytes`). */
    readonly limit: number,
    /** A hint: milliseconds to wait before retrying. */
    readonly retryAfterMs: number,
  ) {
    super(`too many requests: ${bound} at its limit of ${limit}`);
  }
}
