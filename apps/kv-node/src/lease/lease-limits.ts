/**
 * Bounds of the lease table and etcd's TTL rules. The bounds are constants, not flags: every
 * member must refuse the same grants and attachments when it applies them, or replicas diverge.
 */

/** etcd's `MaxLeaseTTL`: a longer TTL is refused with "etcdserver: too large lease TTL". */
export const MAX_LEASE_TTL_SECONDS = 9_000_000_000;

/**
 * Most leases alive at once (etcd has no bound). Each costs the leader a timer entry checked on
 * every expiry tick and every member a table entry, so the table must not grow without end.
 */
export const MAX_LEASES = 100_000;

/**
 * Most keys attached to one lease (etcd has no bound): a revoke deletes them all in one revision,
 * which must stay a bounded amount of work for every member's apply loop.
 */
export const MAX_KEYS_PER_LEASE = 10_000;

/**
 * etcd's minimum TTL: one and a half election timeouts, counted in whole heartbeat ticks and
 * rounded up to seconds (`minTTL = (3 * electionTicks / 2) * heartbeat`). A grant asking for less
 * (zero and negative TTLs too) gets this. With etcd's defaults (100 ms, 1000 ms) it is 2 s.
 *
 * @param electionTimeoutMs the election timeout in ms.
 * @param heartbeatIntervalMs the heartbeat interval in ms.
 */
export function minLeaseTtlSeconds(electionTimeoutMs: number, heartbeatIntervalMs: number): number {
  const heartbeat = Math.max(1, heartbeatIntervalMs);
  const electionTicks = Math.floor(electionTimeoutMs / heartbeat);
  const minTtlMs = Math.floor((3 * electionTicks) / 2) * heartbeat;
  return Math.max(1, Math.ceil(minTtlMs / 1000));
}
