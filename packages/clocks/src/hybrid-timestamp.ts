import { ClockDecodeError } from './errors.js';
import { requireCount } from './validate.js';

/**
 * The largest wall time a hybrid timestamp holds, in milliseconds since the Unix epoch: 2^48 - 1
 * (the year 10889), the 12 hexadecimal digits of the string form.
 */
export const MAX_HYBRID_WALL_MS = 2 ** 48 - 1;

/**
 * The largest logical counter: 2^32 - 1. A {@link HybridClock} whose counter would pass it moves
 * to the next millisecond instead, which keeps every timestamp strictly increasing.
 */
export const MAX_HYBRID_LOGICAL = 2 ** 32 - 1;

/**
 * A hybrid logical clock timestamp (Kulkarni, Demirbas, Madappa, Avva and Leone, 2014): the
 * highest wall time this node has heard of, in milliseconds since the Unix epoch, and a logical
 * counter that orders events within that millisecond. Immutable; compare with
 * {@link compareHybrid}.
 */
export interface HybridTimestamp {
  /** The highest wall time known when the event happened, in milliseconds since the Unix epoch. */
  readonly wallMs: number;
  /** Orders events that share `wallMs`; reset to 0 whenever the wall clock moves past `wallMs`. */
  readonly logical: number;
}

/** The timestamp before every other: wall time 0, logical 0. */
export const ZERO_HYBRID_TIMESTAMP: HybridTimestamp = Object.freeze({ wallMs: 0, logical: 0 });

/**
 * A validated, frozen {@link HybridTimestamp}.
 *
 * @param wallMs milliseconds since the Unix epoch, an integer from 0 to {@link MAX_HYBRID_WALL_MS}
 * @param logical an integer from 0 to {@link MAX_HYBRID_LOGICAL}
 * @throws RangeError if either is out of range or not an integer.
 */
export function hybridTimestamp(wallMs: number, logical: number): HybridTimestamp {
  requireCount('hybrid timestamp wallMs', wallMs, MAX_HYBRID_WALL_MS);
  requireCount('hybrid timestamp logical', logical, MAX_HYBRID_LOGICAL);
  return Object.freeze({ wallMs, logical });
}

/**
 * Orders two hybrid timestamps: negative if `a` is earlier, 0 if equal, positive if later
 * (by `wallMs`, then `logical`). Timestamps from different nodes can be equal; for a total
 * order, break ties by node id: compare `(timestamp, node id)`.
 */
export function compareHybrid(a: HybridTimestamp, b: HybridTimestamp): number {
  if (a.wallMs !== b.wallMs) return a.wallMs < b.wallMs ? -1 : 1;
  if (a.logical !== b.logical) return a.logical < b.logical ? -1 : 1;
  return 0;
}

const WALL_DIGITS = 12;
const LOGICAL_DIGITS = 8;
/** The length of {@link encodeHybridTimestamp}'s output. */
export const ENCODED_HYBRID_TIMESTAMP_LENGTH = WALL_DIGITS + LOGICAL_DIGITS;
const ENCODED_FORM = /^[0-9a-f]{20}$/;

/**
 * The wire and storage form of a timestamp: 20 lowercase hexadecimal digits, 12 of wall time then
 * 8 of logical counter. Fixed width, so string order is timestamp order (usable in keys).
 *
 * @throws RangeError if `timestamp` is not a valid hybrid timestamp.
 */
export function encodeHybridTimestamp(timestamp: HybridTimestamp): string {
  const { wallMs, logical } = hybridTimestamp(timestamp.wallMs, timestamp.logical);
  return (
    wallMs.toString(16).padStart(WALL_DIGITS, '0') +
    logical.toString(16).padStart(LOGICAL_DIGITS, '0')
  );
}

/**
 * Reads the form {@link encodeHybridTimestamp} writes. Accepts exactly 20 lowercase hexadecimal
 * digits (the length is checked before anything else), so every valid input re-encodes to itself.
 *
 * @param encoded untrusted input, for example from a peer
 * @throws ClockDecodeError if `encoded` is not a string of that form.
 */
export function decodeHybridTimestamp(encoded: unknown): HybridTimestamp {
  if (typeof encoded !== 'string') {
    throw new ClockDecodeError('hybrid timestamp', `expected a string, got ${typeof encoded}`);
  }
  if (encoded.length !== ENCODED_HYBRID_TIMESTAMP_LENGTH || !ENCODED_FORM.test(encoded)) {
    throw new ClockDecodeError(
      'hybrid timestamp',
      `expected ${ENCODED_HYBRID_TIMESTAMP_LENGTH} lowercase hexadecimal digits`,
    );
  }
  return Object.freeze({
    wallMs: Number.parseInt(encoded.slice(0, WALL_DIGITS), 16),
    logical: Number.parseInt(encoded.slice(WALL_DIGITS), 16),
  });
}
