import type { QuorumReport } from './quorum-report.js';

/**
 * Why a quorum call failed:
 * - `'impossible'`: so many nodes rejected or failed that the quorum can no longer be reached,
 *   whatever the pending nodes answer;
 * - `'timeout'`: the time limit passed first;
 * - `'aborted'`: the caller's signal was aborted.
 */
export type QuorumFailureReason = 'impossible' | 'timeout' | 'aborted';

/**
 * A quorum call that did not gather its quorum. For a write, this does **not** mean nothing was
 * written: some nodes may have stored the value (see the package README).
 *
 * @typeParam R - the response type of the call.
 */
export class QuorumFailedError<R = unknown> extends Error {
  /** What the call was for, as passed in its options (for example `'write'`). */
  readonly operation: string;
  /** Why it failed. */
  readonly reason: QuorumFailureReason;
  /** Which nodes answered what when it failed. */
  readonly report: QuorumReport<R>;

  /**
   * @param operation - what the call was for.
   * @param reason - why it failed.
   * @param report - which nodes answered what.
   * @param options - the underlying cause, if any (the abort reason).
   */
  constructor(
    operation: string,
    reason: QuorumFailureReason,
    report: QuorumReport<R>,
    options?: ErrorOptions,
  ) {
    const { required, accepted, rejected, failed, pending } = report;
    super(
      `${operation} quorum ${reason === 'impossible' ? 'impossible' : reason === 'timeout' ? 'timed out' : 'aborted'}: ` +
        `${accepted.length} of ${required} required accepted, ${rejected.length} rejected, ` +
        `${failed.length} failed, ${pending.length} pending`,
      options,
    );
    this.name = 'QuorumFailedError';
    this.operation = operation;
    this.reason = reason;
    this.report = report;
  }
}
