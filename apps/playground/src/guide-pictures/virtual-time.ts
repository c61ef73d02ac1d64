/**
 * A tiny virtual-time scheduler for guide pictures whose story runs asynchronous package code
 * (a quorum read, a failure detector): callbacks run in time order, and after each one the
 * promises it settled get to run before the next, so the code under the picture sees replies in
 * the order the script's latencies give them, on no real clock.
 */
export class VirtualTime {
  private pending: { atMs: number; order: number; run: () => void }[] = [];
  private scheduled = 0;
  /** The current virtual time. */
  nowMs = 0;

  /** Runs `run` at `atMs` (not before now); returns a handle for {@link cancel}. */
  at(atMs: number, run: () => void): number {
    const order = this.scheduled++;
    this.pending.push({ atMs: Math.max(atMs, this.nowMs), order, run });
    return order;
  }

  /** Forgets a callback that has not run yet. */
  cancel(handle: number): void {
    this.pending = this.pending.filter((entry) => entry.order !== handle);
  }

  /** Timers on this virtual time, in the shape `@x/quorum` takes. */
  readonly timers = {
    setTimeout: (callback: () => void, delayMs: number): unknown =>
      this.at(this.nowMs + delayMs, callback),
    clearTimeout: (handle: unknown): void => this.cancel(handle as number),
  };

  /** Runs every callback due up to `untilMs`, in order, letting settled promises run after each. */
  async runUntil(untilMs: number): Promise<void> {
    await settle();
    for (;;) {
      this.pending.sort((a, b) => a.atMs - b.atMs || a.order - b.order);
      const next = this.pending[0];
      if (next === undefined || next.atMs > untilMs) break;
      this.pending.shift();
      this.nowMs = next.atMs;
      next.run();
      await settle();
    }
    this.nowMs = Math.max(this.nowMs, untilMs);
  }
}

/** Lets every promise chain that is ready run to completion (a macrotask turn). */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
