/** Size and count limits of the HTTP API (configurable; defaults follow etcd). */
export interface ApiLimits {
  /** Longest key, in bytes. */
  maxKeyBytes: number;
  /** Longest value, in bytes. */
  maxValueBytes: number;
  /** Largest request body, in bytes. */
  maxRequestBytes: number;
  /**
   * A transaction's operation budget, counted as etcd 3.4 does: the longest of a level's
   * compare, success and failure lists must fit it, and a nested transaction must fit what is
   * left of it after its parent level's longest list.
   */
  maxTxnOps: number;
  /**
   * Most keys the ranges of one write transaction may visit (all its ranges, both branches,
   * every level), checked by the leader before the write enters the log.
   */
  maxTxnReadKeys: number;
  /** Most key and value bytes the ranges of one write transaction may return (as above). */
  maxTxnReadBytes: number;
  /**
   * Most bytes of a range response (`/v3/kv/range`, `GET /v1/kv`) whose request set a `limit`:
   * keys past it are left out and the response says `more`, so the client pages on. A range
   * without a limit is never cut: it is streamed in slices, with memory bounded by a slice.
   */
  maxRangeResponseBytes: number;
}

/**
 * 1.5 KiB keys, 1 MiB values, 1.5 MiB requests (etcd's default), a budget of 128 operations per
 * txn (etcd's); ranges in a write txn: 10,000 keys and 4 MiB, range responses with a limit: 64 MiB
 * (kv-node's own; etcd has none).
 */
export const DEFAULT_API_LIMITS: ApiLimits = {
  maxKeyBytes: 1536,
  maxValueBytes: 1024 * 1024,
  maxRequestBytes: 1536 * 1024,
  maxTxnOps: 128,
  maxTxnReadKeys: 10_000,
  maxTxnReadBytes: 4 * 1024 * 1024,
  maxRangeResponseBytes: 64 * 1024 * 1024,
};
