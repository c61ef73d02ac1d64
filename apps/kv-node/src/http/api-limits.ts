/** Size and count limits of the HTTP API (configurable; defaults follow etcd). */
export interface ApiLimits {
  /** Longest key, in bytes. */
  maxKeyBytes: number;
  /** Longest value, in bytes. */
  maxValueBytes: number;
  /** Largest request body, in bytes. */
  maxRequestBytes: number;
  /** Most operations in each of a transaction's compare, success and failure lists. */
  maxTxnOps: number;
}

/** 1.5 KiB keys, 1 MiB values, 1.5 MiB requests (etcd's default), 128 operations per txn list. */
export const DEFAULT_API_LIMITS: ApiLimits = {
  maxKeyBytes: 1536,
  maxValueBytes: 1024 * 1024,
  maxRequestBytes: 1536 * 1024,
  maxTxnOps: 128,
};
