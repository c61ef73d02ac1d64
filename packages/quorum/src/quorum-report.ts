/** A node's answer that counts towards (accepted) or against (rejected) the quorum. */
export interface NodeResponse<R> {
  /** The node that answered. */
  readonly node: string;
  /** What it answered. */
  readonly response: R;
}

/** A node whose call failed (threw or rejected), or whose answer could not be judged. */
export interface NodeFailure {
  /** The node that failed. */
  readonly node: string;
  /** The error its call rejected with (or the acceptance predicate threw). */
  readonly error: unknown;
}

/** Which nodes answered what, at the moment a quorum call settled. Arrays are in arrival order. */
export interface QuorumReport<R> {
  /** How many accepted responses the call needed. */
  readonly required: number;
  /** Responses that satisfied the predicate. */
  readonly accepted: readonly NodeResponse<R>[];
  /** Responses that did not satisfy the predicate (for example a vote refused). */
  readonly rejected: readonly NodeResponse<R>[];
  /** Calls that failed. */
  readonly failed: readonly NodeFailure[];
  /** Nodes that had not answered yet; their later answers are ignored. */
  readonly pending: readonly string[];
}
