import type { ScheduledEvent } from './event-queue.js';
import type { Timers } from './ports.js';
import type { ProcessGate } from './process-gate.js';
import type { SimulatedClock } from './simulated-clock.js';
import type { Simulation } from './simulation.js';

const maximumDelayMs = 2 ** 31 - 1;

class SimulatedTimer {
  event: ScheduledEvent | undefined;
  constructor(
    readonly dueLocalMs: number,
    readonly callback: () => void,
  ) {}
}

/**
 * The Timers port of one process incarnation on virtual time. Delays are measured on the
 * process's own (drifting) clock, like real timers, and follow Node's rules: a delay below 1 ms,
 * above 2^31-1 ms, or not a number counts as 1 ms. Callbacks pass through the process gate, so
 * they stop at a crash and are held during a pause.
 */
export class SimulatedTimers implements Timers {
  private readonly pending = new Set<SimulatedTimer>();
  private readonly label: string;
  private readonly stopListening: () => void;

  /** Timers of the current incarnation behind `gate`, measured on `clock`. */
  constructor(
    private readonly simulation: Simulation,
    private readonly clock: SimulatedClock,
    private readonly gate: ProcessGate,
  ) {
    this.label = `timer ${gate.name}`;
    this.stopListening = clock.onJump(() => this.replan());
  }

  /** Schedules `callback` after `delayMs` of this process's clock; returns an opaque handle. */
  setTimeout(callback: () => void, delayMs: number): unknown {
    const delay = delayMs >= 1 && delayMs <= maximumDelayMs ? delayMs : 1;
    const timer = new SimulatedTimer(this.clock.now() + delay, callback);
    this.pending.add(timer);
    this.plan(timer);
    return timer;
  }

  /** Cancels a timer; unknown handles, and timers that already fired, are ignored. */
  clearTimeout(handle: unknown): void {
    if (!(handle instanceof SimulatedTimer) || !this.pending.delete(handle)) return;
    if (handle.event !== undefined) this.simulation.cancel(handle.event);
  }

  /** Number of timers not yet fired or cleared. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Cancels every timer and stops following clock jumps (the process died). */
  dispose(): void {
    for (const timer of this.pending) {
      if (timer.event !== undefined) this.simulation.cancel(timer.event);
    }
    this.pending.clear();
    this.stopListening();
  }

  private plan(timer: SimulatedTimer): void {
    const delay = this.clock.toVirtualDelay(timer.dueLocalMs - this.clock.now());
    timer.event = this.simulation.schedule(
      delay,
      this.label,
      this.gate.guard(() => {
        if (this.pending.delete(timer)) timer.callback();
      }),
    );
  }

  // After a clock jump, timers now due fire at once and the rest move earlier in virtual time.
  private replan(): void {
    for (const timer of this.pending) {
      if (timer.event === undefined || timer.event.cancelled) continue;
      this.simulation.cancel(timer.event);
      this.plan(timer);
    }
  }
}
