/**
 * Ticks a tenth of the heartbeat interval long: the randomized election timeout then has about a
 * hundred possible values instead of ten, so two followers of a lost leader rarely time out on
 * the same tick and split the vote.
 */
export function replicaTicks(
  heartbeatIntervalMs: number,
  electionTimeoutMs: number,
): { tickMs: number; heartbeatIntervalTicks: number; electionTimeoutTicks: number } {
  const tickMs = Math.max(1, Math.round(heartbeatIntervalMs / 10));
  const heartbeatIntervalTicks = Math.max(1, Math.round(heartbeatIntervalMs / tickMs));
  return {
    tickMs,
    heartbeatIntervalTicks,
    electionTimeoutTicks: Math.max(
      2 * heartbeatIntervalTicks,
      Math.round(electionTimeoutMs / tickMs),
    ),
  };
}
