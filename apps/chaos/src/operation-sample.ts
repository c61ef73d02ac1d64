/** What happened to one client operation, for availability and failover measures. */
export interface OperationSample {
  /** Index of the node the operation was sent to. */
  readonly node: number;
  /** `read` does not change state; `write` covers puts and compare-and-sets. */
  readonly kind: 'read' | 'write';
  /** Milliseconds since the workload started (monotonic). */
  readonly invokedAtMs: number;
  readonly completedAtMs: number;
  /** `ok`: took effect; `fail`: definitely did not; `info`: unknown (timeout, lost connection). */
  readonly outcome: 'ok' | 'fail' | 'info';
}

/** How many samples ended in each outcome. */
export function countOutcomes(
  samples: readonly OperationSample[],
): Record<OperationSample['outcome'], number> {
  const counts = { ok: 0, fail: 0, info: 0 };
  for (const sample of samples) counts[sample.outcome]++;
  return counts;
}
