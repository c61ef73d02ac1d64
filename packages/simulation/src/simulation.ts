import { EventQueue, type ScheduledEvent } from './event-queue.js';
import { RandomStreams } from './random-streams.js';
import { TraceHasher } from './trace-hasher.js';
import { describeError as describe } from './describe-error.js';

/** Options of a {@link Simulation}. */
export interface SimulationOptions {
  /** The seed every random stream derives from. Printed on failure; replay with `SIM_SEED`. */
  seed: string | number;
  /** Keep a readable event log beside the trace hash, to diff two runs (slow). Default false. */
  keepTraceLog?: boolean;
  /**
   * How many consecutive microtask turns without new simulator activity end the drain after an
   * event. Higher values let longer chains of `await` finish at the same virtual instant; lower
   * values run faster. Any value is deterministic. Default 32.
   */
  quietMicrotaskTurns?: number;
  /** Upper bound on microtask turns after one event, against runaway promise loops. Default 100,000. */
  maxMicrotaskTurns?: number;
  /** A run that executes more events than this fails (catches zero-delay timer loops). Default 50 million. */
  maxEvents?: number;
}

/** Thrown by run methods when the simulation was failed by {@link Simulation.fail} or a throwing event. */
export class SimulationFailedError extends Error {
  override readonly name = 'SimulationFailedError';
}

/** Thrown by {@link Simulation.runUntil} when the condition does not hold before the deadline. */
export class SimulationTimeoutError extends Error {
  override readonly name = 'SimulationTimeoutError';
}

const settled = Promise.resolve();

/**
 * Virtual time and the event loop of one deterministic run.
 *
 * Events sit in a queue ordered by (time, sequence). A step takes the earliest event, advances
 * virtual time to it, runs its callback, then lets the promise continuations it triggered run:
 * it yields microtask turns until {@link SimulationOptions.quietMicrotaskTurns} turns pass with
 * no new scheduling. No real timer is involved, so a run depends only on the seed: the same seed
 * runs the same events in the same order and yields the same {@link traceHash}.
 */
export class Simulation {
  /** The run's seed. */
  readonly seed: string | number;
  /** Independent random streams derived from the seed (`network`, `disk`, `faults`, ...). */
  readonly random: RandomStreams;
  /** The hash over the ordered event log; mix in your own facts with its add methods. */
  readonly trace: TraceHasher;

  private readonly queue = new EventQueue();
  private readonly quietTurns: number;
  private readonly maxTurns: number;
  private readonly maxEvents: number;
  private readonly afterStepHooks: (() => void)[] = [];
  private time = 0;
  private sequence = 0;
  private activity = 0;
  private executed = 0;
  private running = false;
  private failure: { error: unknown } | undefined;

  /** An empty simulation at virtual time 0. */
  constructor(options: SimulationOptions) {
    this.seed = options.seed;
    this.random = new RandomStreams(options.seed);
    this.trace = new TraceHasher(options.keepTraceLog ?? false);
    this.quietTurns = options.quietMicrotaskTurns ?? 32;
    this.maxTurns = options.maxMicrotaskTurns ?? 100_000;
    this.maxEvents = options.maxEvents ?? 50_000_000;
  }

  /** Virtual time in milliseconds since the start of the run (the "true" time; node clocks drift from it). */
  get now(): number {
    return this.time;
  }

  /** Number of events run so far. */
  get eventsRun(): number {
    return this.executed;
  }

  /** Number of events waiting. */
  get pendingEvents(): number {
    return this.queue.size;
  }

  /** The trace hash so far: 16 hex digits. Equal for two runs of one seed. */
  get traceHash(): string {
    return this.trace.hex();
  }

  /** The first failure recorded, if any. */
  get failed(): { error: unknown } | undefined {
    return this.failure;
  }

  /**
   * Schedules `callback` to run `delayMs` virtual milliseconds from now (negative counts as 0).
   * @param label Names the event in the trace; keep it short and deterministic.
   */
  schedule(delayMs: number, label: string, callback: () => void): ScheduledEvent {
    return this.scheduleAt(this.time + (delayMs > 0 ? delayMs : 0), label, callback);
  }

  /** Schedules `callback` at absolute virtual time `time` (clamped to now). */
  scheduleAt(time: number, label: string, callback: () => void): ScheduledEvent {
    const event: ScheduledEvent = {
      time: time > this.time ? time : this.time,
      sequence: this.sequence++,
      label,
      cancelled: false,
      callback,
    };
    this.queue.push(event);
    this.activity++;
    return event;
  }

  /** Cancels a scheduled event; does nothing if it already ran or was cancelled. */
  cancel(event: ScheduledEvent): void {
    this.queue.cancel(event);
    this.activity++;
  }

  /** Marks that something happened, so the microtask drain keeps waiting for more. */
  noteActivity(): void {
    this.activity++;
  }

  /** Registers a hook run after every step (once microtasks are quiet), e.g. invariant checks. */
  afterEachStep(hook: () => void): void {
    this.afterStepHooks.push(hook);
  }

  /**
   * Records a failure (the first one wins). The running step finishes and the run method throws
   * {@link SimulationFailedError} with the failure as its cause.
   */
  fail(error: unknown): void {
    this.failure ??= { error };
  }

  /**
   * Runs the earliest event and drains the microtasks it caused.
   * @returns false when there was no event.
   * @throws SimulationFailedError when the run has failed.
   */
  async step(): Promise<boolean> {
    this.throwIfFailed();
    const event = this.queue.pop();
    if (event === undefined) return false;
    this.time = event.time;
    this.executed++;
    if (this.executed > this.maxEvents) {
      this.fail(new Error(`more than ${this.maxEvents} events: is a zero-delay timer looping?`));
    }
    this.trace.addNumber(event.time);
    this.trace.addString(event.label);
    this.trace.log(() => `${event.time} ${event.label}`);
    try {
      event.callback();
    } catch (error) {
      this.fail(error);
    }
    await this.drainMicrotasks();
    for (const hook of this.afterStepHooks) {
      try {
        hook();
      } catch (error) {
        this.fail(error);
      }
    }
    this.throwIfFailed();
    return true;
  }

  /**
   * Runs every event due within the next `durationMs` virtual milliseconds, then advances the
   * time to the end of that window.
   * @throws SimulationFailedError when the run fails; Error when a run is already in progress.
   */
  async runFor(durationMs: number): Promise<void> {
    const end = this.time + durationMs;
    await this.exclusively(async () => {
      for (;;) {
        const next = this.queue.peek();
        if (next === undefined || next.time > end) break;
        await this.step();
      }
      if (end > this.time) this.time = end;
    });
  }

  /**
   * Runs events until `condition` holds (checked before the first and after every step).
   * @param timeoutMs Virtual milliseconds to wait at most. Default 60,000.
   * @throws SimulationTimeoutError when the deadline passes first, or the queue empties first.
   */
  async runUntil(condition: () => boolean, timeoutMs = 60_000): Promise<void> {
    const deadline = this.time + timeoutMs;
    await this.exclusively(async () => {
      while (!condition()) {
        const next = this.queue.peek();
        if (next === undefined || next.time > deadline) {
          if (next === undefined) {
            throw new SimulationTimeoutError(
              `condition not met and no event left to run: the system is idle (seed ${String(this.seed)})`,
            );
          }
          this.time = deadline;
          throw new SimulationTimeoutError(
            `condition not met within ${timeoutMs} virtual ms (seed ${String(this.seed)})`,
          );
        }
        await this.step();
      }
    });
  }

  /** Runs until no event is left, or `maxDurationMs` of virtual time has passed. */
  async runUntilIdle(maxDurationMs = Number.POSITIVE_INFINITY): Promise<void> {
    const end = this.time + maxDurationMs;
    await this.exclusively(async () => {
      for (;;) {
        const next = this.queue.peek();
        if (next === undefined || next.time > end) break;
        await this.step();
      }
    });
  }

  private async exclusively(body: () => Promise<void>): Promise<void> {
    if (this.running)
      throw new Error('the simulation is already running (a run method was re-entered)');
    this.throwIfFailed();
    this.running = true;
    try {
      await body();
    } finally {
      this.running = false;
    }
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) {
      throw new SimulationFailedError(
        `simulation failed at ${this.time} virtual ms (seed ${String(this.seed)}): ${describe(this.failure.error)}`,
        { cause: this.failure.error },
      );
    }
  }

  // Lets the continuations of the event run at the same virtual instant. Microtask order is
  // deterministic, so any stopping rule is; this one waits until the system has stopped
  // scheduling for a while. Whatever is still queued after that simply runs during the next drain.
  // One `then` on a settled promise per turn: about half the cost of resuming an async function,
  // and a third of queueMicrotask (which allocates an AsyncResource per call in Node).
  private drainMicrotasks(): Promise<void> {
    return new Promise<void>((resolve) => {
      let seen = this.activity;
      let quiet = 0;
      let turns = 0;
      const turn = (): void => {
        if (this.activity !== seen) {
          seen = this.activity;
          quiet = 0;
        } else if (++quiet >= this.quietTurns) {
          return resolve();
        }
        if (++turns >= this.maxTurns) return resolve();
        void settled.then(turn);
      };
      void settled.then(turn);
    });
  }
}
