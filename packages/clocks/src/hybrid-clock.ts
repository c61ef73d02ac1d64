import { ClockOffsetError } from './errors.js';
import {
  MAX_HYBRID_LOGICAL,
  MAX_HYBRID_WALL_MS,
  ZERO_HYBRID_TIMESTAMP,
  compareHybrid,
  hybridTimestamp,
  type HybridTimestamp,
} from './hybrid-timestamp.js';
import { requireCount } from './validate.js';
import type { WallClock } from './wall-clock.js';

/** Options of a {@link HybridClock}. */
export interface HybridClockOptions {
  /**
   * The largest distance, in milliseconds, a remote timestamp's wall time may be ahead of the
   * local wall clock; {@link HybridClock.witness} refuses one further ahead with a
   * {@link ClockOffsetError}. Set it to the clock synchronisation your deployment guarantees
   * (CockroachDB's default is 500 ms). A non-negative safe integer.
   */
  readonly maxOffsetMs: number;
  /**
   * A timestamp the clock must stay above, for example the highest one persisted before a
   * restart (default: {@link ZERO_HYBRID_TIMESTAMP}).
   */
  readonly initial?: HybridTimestamp;
}

/**
 * A hybrid logical clock (Kulkarni et al., 2014): timestamps that respect causality like a Lamport
 * clock, yet stay close to wall time, so they can be compared with a human's "at 10:02" and used
 * for last-writer-wins. Each timestamp is the highest wall time this node has heard of (its own
 * wall clock or a peer's timestamp), plus a logical counter for events within that millisecond.
 *
 * - **Never backwards**: every timestamp it returns is strictly greater than every one it returned
 *   or witnessed before, even when the wall clock jumps backwards (the wall time then stays where
 *   it was and the counter grows until the wall clock catches up).
 * - **Causal**: a receive's timestamp is greater than the send's it witnesses.
 * - **Bounded drift**: `wallMs` is never more than `maxOffsetMs` ahead of the local wall clock
 *   through a witness, because a remote timestamp further ahead is refused. The counter resets
 *   to 0 whenever the wall clock moves past `wallMs`, so it stays small while wall clocks advance.
 *
 * Timestamps of different nodes can be equal: break ties with the node id, `(timestamp, node id)`.
 * The clock is not durable: persist the timestamps you hand out and pass the highest as `initial`
 * after a restart if the wall clock might be behind it.
 */
export class HybridClock {
  private readonly wallClock: WallClock;
  private readonly maxOffsetMs: number;
  private latest: HybridTimestamp;

  /**
   * @param wallClock the physical time source (`nodeWallClock` in production)
   * @param options the maximum offset and an optional starting timestamp
   * @throws RangeError if `maxOffsetMs` is not a non-negative safe integer or `initial` is not a
   *   valid timestamp.
   */
  constructor(wallClock: WallClock, options: HybridClockOptions) {
    requireCount('maxOffsetMs', options.maxOffsetMs);
    const initial = options.initial ?? ZERO_HYBRID_TIMESTAMP;
    this.wallClock = wallClock;
    this.maxOffsetMs = options.maxOffsetMs;
    this.latest = hybridTimestamp(initial.wallMs, initial.logical);
  }

  /** The latest timestamp returned or witnessed, without advancing the clock. */
  get current(): HybridTimestamp {
    return this.latest;
  }

  /**
   * A local event or a send: returns a new timestamp, greater than every earlier one. Send it
   * with the message.
   *
   * @throws RangeError if the wall clock reads a value that is negative, not finite or beyond
   *   {@link MAX_HYBRID_WALL_MS}; the clock is unchanged.
   */
  tick(): HybridTimestamp {
    const physicalMs = this.readWallClock();
    if (physicalMs > this.latest.wallMs) return this.advanceTo(hybridTimestamp(physicalMs, 0));
    return this.advanceTo(this.successor(this.latest.wallMs, this.latest.logical));
  }

  /**
   * A receive: moves past both the local clock and the `remote` timestamp the message carried,
   * and returns the new timestamp, greater than both.
   *
   * @param remote the sender's timestamp (decode untrusted input with `decodeHybridTimestamp`)
   * @throws ClockOffsetError if `remote.wallMs` is more than `maxOffsetMs` ahead of the local
   *   wall clock; the clock is unchanged.
   * @throws RangeError if `remote` is not a valid timestamp, or the wall clock reads a value that
   *   is negative, not finite or beyond {@link MAX_HYBRID_WALL_MS}; the clock is unchanged.
   */
  witness(remote: HybridTimestamp): HybridTimestamp {
    const checked = hybridTimestamp(remote.wallMs, remote.logical);
    const physicalMs = this.readWallClock();
    if (checked.wallMs - physicalMs > this.maxOffsetMs) {
      throw new ClockOffsetError(checked, this.latest, physicalMs, this.maxOffsetMs);
    }
    const local = this.latest;
    const wallMs = Math.max(local.wallMs, checked.wallMs, physicalMs);
    if (wallMs === physicalMs && wallMs > local.wallMs && wallMs > checked.wallMs) {
      return this.advanceTo(hybridTimestamp(wallMs, 0));
    }
    // The new wall time is the local one, the remote one or both: go one past the largest
    // counter among those that share it.
    const logical = Math.max(
      local.wallMs === wallMs ? local.logical : -1,
      checked.wallMs === wallMs ? checked.logical : -1,
    );
    return this.advanceTo(this.successor(wallMs, logical));
  }

  /** The next timestamp after (wallMs, logical); the next millisecond if the counter is full. */
  private successor(wallMs: number, logical: number): HybridTimestamp {
    if (logical < MAX_HYBRID_LOGICAL) return hybridTimestamp(wallMs, logical + 1);
    if (wallMs >= MAX_HYBRID_WALL_MS) {
      throw new RangeError('hybrid clock overflow: no timestamp after the largest one');
    }
    return hybridTimestamp(wallMs + 1, 0);
  }

  /** Physical time in whole milliseconds; sub-millisecond readings are floored. */
  private readWallClock(): number {
    const reading = this.wallClock.now();
    const physicalMs = Math.floor(reading);
    if (!(physicalMs >= 0 && physicalMs <= MAX_HYBRID_WALL_MS)) {
      throw new RangeError(
        `the wall clock must read milliseconds from 0 to ${MAX_HYBRID_WALL_MS}, got ${String(reading)}`,
      );
    }
    return physicalMs;
  }

  private advanceTo(next: HybridTimestamp): HybridTimestamp {
    // An assertion, not input validation: every path above builds a later timestamp.
    if (compareHybrid(next, this.latest) <= 0) {
      throw new Error(
        `hybrid clock invariant broken: ${next.wallMs}.${next.logical} is not after ` +
          `${this.latest.wallMs}.${this.latest.logical}`,
      );
    }
    this.latest = next;
    return next;
  }
}
