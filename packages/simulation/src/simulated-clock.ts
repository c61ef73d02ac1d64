import type { Clock } from './ports.js';

/** The source of true virtual time a clock reads (a {@link Simulation}). */
export interface VirtualTimeSource {
  readonly now: number;
}

/** Options of a {@link SimulatedClock}. */
export interface SimulatedClockOptions {
  /** The clock's reading at virtual time 0, in ms. Monotonic clocks of different processes start anywhere. Default 0. */
  offsetMs?: number;
  /** Rate error in parts per million: +100 means this clock gains 0.1 ms per virtual second. Default 0. */
  driftPpm?: number;
}

/**
 * A node's monotonic clock on virtual time (the Clock port), with an offset, a drift and forward
 * jumps (a suspended VM or a stopped process sees its monotonic clock leap ahead on wake-up).
 */
export class SimulatedClock implements Clock {
  private anchorTrue: number;
  private anchorLocal: number;
  private rate: number;
  private readonly jumpListeners: (() => void)[] = [];

  /** A clock reading `offsetMs` plus the virtual time, advancing at 1 + driftPpm / 10^6 from now on. */
  constructor(
    private readonly time: VirtualTimeSource,
    options: SimulatedClockOptions = {},
  ) {
    this.anchorTrue = time.now;
    this.anchorLocal = (options.offsetMs ?? 0) + time.now;
    this.rate = 1 + (options.driftPpm ?? 0) / 1e6;
  }

  /** This clock's reading in milliseconds. Never decreases. */
  now(): number {
    return this.anchorLocal + (this.time.now - this.anchorTrue) * this.rate;
  }

  /** Rate error in parts per million. */
  get driftPpm(): number {
    return (this.rate - 1) * 1e6;
  }

  /** Changes the drift from now on; readings stay continuous. Throws RangeError at or below -1,000,000 ppm. */
  setDrift(driftPpm: number): void {
    if (!(driftPpm > -1e6))
      throw new RangeError(`drift ${driftPpm} ppm would stop or reverse the clock`);
    this.reanchor();
    this.rate = 1 + driftPpm / 1e6;
  }

  /**
   * Moves the clock forward by `deltaMs` at once. Timers due by the new reading fire immediately.
   * Throws RangeError for a negative jump: a monotonic clock never goes back.
   */
  jump(deltaMs: number): void {
    if (!(deltaMs >= 0)) throw new RangeError(`a monotonic clock cannot jump by ${deltaMs} ms`);
    this.reanchor();
    this.anchorLocal += deltaMs;
    for (const listener of this.jumpListeners.slice()) listener();
  }

  /** Virtual (true) milliseconds until this clock has advanced by `localMs`. */
  toVirtualDelay(localMs: number): number {
    return localMs / this.rate;
  }

  /** Registers a callback run after every jump (timers re-plan); returns a function that removes it. */
  onJump(listener: () => void): () => void {
    this.jumpListeners.push(listener);
    return () => {
      const index = this.jumpListeners.indexOf(listener);
      if (index >= 0) this.jumpListeners.splice(index, 1);
    };
  }

  private reanchor(): void {
    this.anchorLocal = this.now();
    this.anchorTrue = this.time.now;
  }
}

/**
 * A node's wall clock (milliseconds since the Unix epoch) on virtual time. Unlike the monotonic
 * clock it can be set backwards, as NTP or an operator does; code must never time anything with it.
 */
export class SimulatedWallClock {
  private offset: number;

  /** @param epochMs The reading at virtual time 0. */
  constructor(
    private readonly time: VirtualTimeSource,
    epochMs: number,
  ) {
    this.offset = epochMs;
  }

  /** Milliseconds since the Unix epoch, as this node believes. */
  now(): number {
    return this.offset + this.time.now;
  }

  /** Moves the wall clock by `deltaMs`, forwards or backwards. */
  jump(deltaMs: number): void {
    this.offset += deltaMs;
  }
}
