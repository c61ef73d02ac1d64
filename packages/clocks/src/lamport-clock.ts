import { requireCount } from './validate.js';

/**
 * A Lamport clock (Lamport, 1978): a counter that orders events consistently with causality. If
 * event a happened before event b (same process, earlier; or a is the send of the message b
 * receives), then a's time is less than b's. The converse does not hold: a smaller time does not
 * mean "happened before", and a Lamport clock cannot tell concurrent events apart (a
 * {@link VersionVector} can).
 *
 * Call {@link LamportClock.tick} for a local event or before sending (the message carries the
 * result) and {@link LamportClock.witness} when a message arrives. For a total order, compare
 * (time, node id): equal times from different nodes are concurrent, and the node id is only a
 * tie-breaker that every node agrees on.
 *
 * Times are safe integers; an operation that would pass `Number.MAX_SAFE_INTEGER` throws a
 * RangeError and leaves the clock unchanged.
 */
export class LamportClock {
  private time: number;

  /**
   * @param initial the time to start from (default 0), for example the highest time persisted
   *   before a restart. A non-negative safe integer.
   * @throws RangeError if `initial` is not a non-negative safe integer.
   */
  constructor(initial = 0) {
    requireCount('initial Lamport time', initial);
    this.time = initial;
  }

  /** The latest time issued or witnessed, without advancing the clock. */
  get current(): number {
    return this.time;
  }

  /**
   * A local event or a send: advances the clock by one and returns the new time.
   *
   * @throws RangeError if the time would pass `Number.MAX_SAFE_INTEGER`.
   */
  tick(): number {
    return this.advanceTo(this.time + 1);
  }

  /**
   * A receive: moves past both the local time and the time `remote` the message carried, and
   * returns the new time, which is greater than both.
   *
   * @param remote the sender's time, a non-negative safe integer
   * @throws RangeError if `remote` is not a non-negative safe integer or the time would pass
   *   `Number.MAX_SAFE_INTEGER`; the clock is unchanged.
   */
  witness(remote: number): number {
    requireCount('remote Lamport time', remote);
    return this.advanceTo(Math.max(this.time, remote) + 1);
  }

  private advanceTo(next: number): number {
    if (!Number.isSafeInteger(next)) {
      throw new RangeError(`Lamport time overflow after ${this.time}`);
    }
    this.time = next;
    return next;
  }
}
