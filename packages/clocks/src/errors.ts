import type { HybridTimestamp } from './hybrid-timestamp.js';

/**
 * A {@link HybridClock} refused a remote timestamp whose wall time is further ahead of the local
 * wall clock than the configured maximum offset. Accepting it would drag this clock (and every
 * clock that later hears from this one) ahead of real time for good; refusing it keeps the
 * hybrid clock within `maxOffsetMs` of the wall clocks. The clock is left unchanged. Usually the
 * sender's clock is wrong (not synchronised, set by hand): log it, count it, drop the message.
 */
export class ClockOffsetError extends Error {
  /** The remote timestamp that was refused. */
  readonly remote: HybridTimestamp;
  /** The local clock's latest timestamp, unchanged by the refusal. */
  readonly local: HybridTimestamp;
  /** The local wall clock's reading when the remote timestamp was refused, in milliseconds. */
  readonly physicalNowMs: number;
  /** The configured maximum offset, in milliseconds. */
  readonly maxOffsetMs: number;

  /**
   * @param remote the refused timestamp
   * @param local the local clock's latest timestamp
   * @param physicalNowMs the local wall-clock reading
   * @param maxOffsetMs the configured bound
   */
  constructor(
    remote: HybridTimestamp,
    local: HybridTimestamp,
    physicalNowMs: number,
    maxOffsetMs: number,
  ) {
    super(
      `remote timestamp ${remote.wallMs}.${remote.logical} is ${remote.wallMs - physicalNowMs} ms ` +
        `ahead of the local wall clock (${physicalNowMs}); the maximum offset is ${maxOffsetMs} ms`,
    );
    this.name = 'ClockOffsetError';
    this.remote = remote;
    this.local = local;
    this.physicalNowMs = physicalNowMs;
    this.maxOffsetMs = maxOffsetMs;
  }

  /** How far the remote wall time is ahead of the local wall clock, in milliseconds. */
  get offsetMs(): number {
    return this.remote.wallMs - this.physicalNowMs;
  }
}

/**
 * Clock data received from outside (a hybrid timestamp's string form, a version vector's JSON)
 * is malformed or exceeds a bound. Nothing was allocated beyond the bound.
 */
export class ClockDecodeError extends Error {
  /**
   * @param what what was being decoded
   * @param reason what is wrong with it
   */
  constructor(what: string, reason: string) {
    super(`invalid ${what}: ${reason}`);
    this.name = 'ClockDecodeError';
  }
}
