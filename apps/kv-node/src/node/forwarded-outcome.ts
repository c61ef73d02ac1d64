/**
 * What the leader answers a forwarded request with, in the peer protocol's own terms: the
 * outcome, or a refusal with a reason from a closed set. HTTP statuses and gRPC codes belong to
 * the edges: the member that took the client's request turns a refusal into its own API error
 * (see `forward-refusal-errors.ts`), so a peer can neither send a status that cannot be written
 * nor decide on its own whether a client may retry.
 */

/**
 * Why the leader did not (or cannot say whether it did) carry out a forwarded request. Each
 * reason's position in this list is its code on the wire: append new reasons, never reorder.
 */
export const FORWARD_REFUSAL_REASONS = [
  /** The member asked does not lead, or could not confirm its leadership with a quorum. */
  'no_leader',
  /** Definitely not done, for want of a leader in time (leadership moving or changing). */
  'unavailable',
  /** The leader is shutting down; definitely not done. */
  'shutting_down',
  /** The command is over the leader's proposal size limit. */
  'too_large',
  /** The leader holds as much pending work as it may; retry after `retryAfterSeconds`. */
  'too_many_requests',
  /** A write transaction that would read more than the leader's admission limits allow. */
  'txn_reads_too_large',
  /** The outcome is unknown: the write may or may not have been applied. */
  'indeterminate',
] as const;

/** One of {@link FORWARD_REFUSAL_REASONS}. */
export type ForwardRefusalReason = (typeof FORWARD_REFUSAL_REASONS)[number];

/**
 * Longest detail a refusal carries, in UTF-8 bytes: enough for the leader's own words, and a
 * bound the decoder checks before it allocates the string.
 */
export const MAX_REFUSAL_DETAIL_BYTES = 1024;

/** Longest wait a refusal may ask a client for, in seconds. */
export const MAX_REFUSAL_RETRY_AFTER_SECONDS = 3600;

/** A forwarded request the leader refused, or whose outcome it cannot vouch for. */
export class ForwardRefusal {
  /** Why; decides the client's status at the receiving member's edge. */
  readonly reason: ForwardRefusalReason;
  /** The leader's explanation for a human, at most {@link MAX_REFUSAL_DETAIL_BYTES} bytes. */
  readonly detail: string;
  /**
   * Seconds the client should wait before retrying (0: no advice), at most
   * {@link MAX_REFUSAL_RETRY_AFTER_SECONDS}; `too_many_requests` carries it.
   */
  readonly retryAfterSeconds: number;

  /**
   * @param reason see {@link ForwardRefusal.reason}.
   * @param detail the leader's words; cut to fit {@link MAX_REFUSAL_DETAIL_BYTES}.
   * @param retryAfterSeconds whole seconds, clamped to 0..{@link MAX_REFUSAL_RETRY_AFTER_SECONDS}.
   */
  constructor(reason: ForwardRefusalReason, detail: string, retryAfterSeconds = 0) {
    this.reason = reason;
    this.detail = fitRefusalDetail(detail);
    this.retryAfterSeconds = Math.min(
      MAX_REFUSAL_RETRY_AFTER_SECONDS,
      Math.max(0, Math.ceil(retryAfterSeconds)),
    );
  }
}

/** A forwarded request's answer: `T` when the leader carried it out, else its refusal. */
export type ForwardedOutcome<T> = T | ForwardRefusal;

/** `detail`, cut to fit {@link MAX_REFUSAL_DETAIL_BYTES} bytes of UTF-8 when it is longer. */
export function fitRefusalDetail(detail: string): string {
  if (Buffer.byteLength(detail, 'utf8') <= MAX_REFUSAL_DETAIL_BYTES) return detail;
  // A UTF-16 code unit takes at most 3 UTF-8 bytes (a lone surrogate becomes U+FFFD).
  return detail.slice(0, Math.floor(MAX_REFUSAL_DETAIL_BYTES / 3));
}
