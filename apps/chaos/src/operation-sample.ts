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
