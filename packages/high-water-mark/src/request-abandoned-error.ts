/**
 * What a client may be told about a request whose wait was abandoned.
 *
 * - `'not-applied'`: definitely not applied and never will be (for example its entry was
 *   overwritten by another leader's entry), so the client may safely retry.
 * - `'unknown'`: it may or may not be applied (for example leadership was lost while waiting, or
 *   the wait timed out): the entry may still be committed by the next leader.
 */
export type RequestOutcome = 'not-applied' | 'unknown';

/**
 * The rejection of a promise from {@link RequestWaitingList.add} that was abandoned before the
 * high-water mark reached its index. Check {@link outcome} before answering the client: never turn
 * an `'unknown'` outcome into a definite error.
 */
export class RequestAbandonedError extends Error {
  /** Whether the request is definitely not applied, or its fate is unknown. */
  readonly outcome: RequestOutcome;
  /** The log index the request was waiting for. */
  readonly index: number;
  /** Why the wait was abandoned, for example `'leadership lost'`. */
  readonly reason: string;

  /**
   * @param index - the log index the request was waiting for.
   * @param outcome - whether the request is definitely not applied, or unknown.
   * @param reason - why the wait was abandoned.
   * @param options - the underlying cause, if any.
   */
  constructor(index: number, outcome: RequestOutcome, reason: string, options?: ErrorOptions) {
    super(`request at index ${index} abandoned (${outcome}): ${reason}`, options);
    this.name = 'RequestAbandonedError';
    this.index = index;
    this.outcome = outcome;
    this.reason = reason;
  }
}
