import type { Clock, Timers } from './node-ports.js';

/**
 * Calls `onTick` every `tickMs` on a fixed schedule, so that timer lateness does not add up: with
 * short ticks a millisecond late on each would stretch every timeout by a tenth. A tick missed
 * entirely (a busy or paused process) is skipped, never replayed in a burst, so a process that
 * wakes hears its peers before its timeouts move on.
 */
export class TickSchedule {
  private timer: unknown;
  /** When the next tick is due on the clock (ms). */
  private nextTickAt = Number.NEGATIVE_INFINITY;
  private stopped = false;

  constructor(
    private readonly clock: Clock,
    private readonly timers: Timers,
    private readonly tickMs: number,
    private readonly onTick: () => void,
  ) {}

  /** Schedules the next tick (and, after each tick, the one after). */
  start(): void {
    if (this.stopped) return;
    const now = this.clock.now();
    const due = this.nextTickAt + this.tickMs;
    this.nextTickAt = due >= now ? due : now + this.tickMs;
    this.timer = this.timers.setTimeout(() => {
      if (this.stopped) return;
      this.onTick();
      this.start();
    }, this.nextTickAt - now);
  }

  /** Cancels the next tick for good. */
  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
  }
}
