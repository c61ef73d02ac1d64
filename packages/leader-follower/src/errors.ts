import type { NodeId } from './messages.js';

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
