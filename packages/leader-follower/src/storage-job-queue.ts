/**
 * Which resource a storage job uses. Jobs of one lane start in the order they were queued:
 * - `log`: the write-ahead log. Its jobs are pipelined: a job starts as soon as the ones queued
 *   before it in the lane have *started*, because the log orders its own appends and shares one
 *   fdatasync among those in flight (group commit); waiting for each to finish would cost an
 *   fsync per Ready.
 * - `state`: the generation file (generation, vote, member state). Serial: a job starts once
 *   the one before it *finished*, because each write replaces the file atomically through the
 *   same temporary file.
 * - `snapshot`: the snapshot file and the incoming snapshot. Serial, for the same reason, and
 *   so that a snapshot being replaced is never read half old, half new.
 */
export type StorageLane = 'log' | 'state' | 'snapshot';

interface Job {
  readonly lane: StorageLane | 'barrier';
  readonly run: () => Promise<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * The one ordered queue of a node's storage jobs. Its ordering rules:
 * 1. Jobs of a lane start in the order they were queued (pipelined in the `log` lane, one at a
 *    time in the `state` and `snapshot` lanes; see {@link StorageLane}).
 * 2. Lanes do not wait for each other: a long snapshot save never holds back log appends.
 * 3. A barrier (a snapshot install, which replaces the log) starts only once every job queued
 *    before it, in every lane, has finished; every job queued after it starts only once it has
 *    finished. Nothing reads or writes a log that is being replaced.
 * 4. Fail-stop (DESIGN.md §6): once a job fails, every job not yet started and every later one
 *    rejects with that error; nothing more is written.
 * 5. A node storage's `persist` promises settle in the order of the calls (`PersistOrder`), even
 *    when a later Ready's jobs finish first, so the node acts on durability in Ready order.
 *
 * A generation-file write reads the latest generation, vote and member state when it starts, so
 * changes made while it waits ride on it instead of queueing writes of their own.
 */
export class StorageJobQueue {
  private readonly waiting: Job[] = [];
  private readonly running = new Map<StorageLane | 'barrier', number>();
  private runningTotal = 0;
  private failure: Error | undefined;
  private readonly idleWaiters: (() => void)[] = [];

  /** Queues `run` in `lane` (or as a barrier); resolves or rejects with what it does. */
  enqueue<T>(lane: StorageLane | 'barrier', run: () => Promise<T>): Promise<T> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.waiting.length === 0 && this.mayStartNow(lane)) {
      // The usual case (a log append beside others in flight): nothing waits, so the rules let
      // it start at once, and its own promise carries the outcome, with no job record or
      // promise of the queue's around it (one per Ready on the commit path).
      return this.runNow(lane, run);
    }
    return new Promise<T>((resolve, reject) => {
      this.waiting.push({
        lane,
        run,
        resolve: resolve as (value: unknown) => void,
        reject,
      });
      this.pump();
    });
  }

  /** Resolves once no job is queued or running (failed ones included). */
  idle(): Promise<void> {
    if (this.waiting.length === 0 && this.runningTotal === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Starts every job the rules allow, in queue order. */
  private pump(): void {
    const blockedLanes = new Set<StorageLane | 'barrier'>();
    let position = 0;
    while (position < this.waiting.length) {
      const job = this.waiting[position]!;
      if (job.lane === 'barrier') {
        // Rule 3: nothing queued before it may still wait or run, and nothing after it starts.
        if (position === 0 && this.runningTotal === 0) {
          this.waiting.shift();
          this.start(job);
        }
        return;
      }
      if (blockedLanes.has(job.lane) || !this.mayStart(job.lane)) {
        blockedLanes.add(job.lane); // rule 1: later jobs of the lane wait behind this one
        position++;
        continue;
      }
      this.waiting.splice(position, 1);
      this.start(job);
    }
  }

  /** Whether a job of `lane` queued behind nothing may start now (rules 1 and 3). */
  private mayStartNow(lane: StorageLane | 'barrier'): boolean {
    return lane === 'barrier' ? this.runningTotal === 0 : this.mayStart(lane);
  }

  private mayStart(lane: StorageLane): boolean {
    if ((this.running.get('barrier') ?? 0) > 0) return false;
    return lane === 'log' || (this.running.get(lane) ?? 0) === 0;
  }

  /** Starts a queued job; its queued promise settles with what it does. */
  private start(job: Job): void {
    this.track(job.lane, job.run, job.resolve, job.reject);
  }

  /** Runs a job that may start now; the promise settles with what it does. */
  private runNow<T>(lane: StorageLane | 'barrier', run: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.track(lane, run, resolve as (value: unknown) => void, reject);
    });
  }

  /**
   * Runs a job, counted as running until it settles; then lets waiting jobs start (and fails the
   * queue if it failed) before its outcome reaches the caller, with one reaction on the job.
   */
  private track(
    lane: StorageLane | 'barrier',
    run: () => Promise<unknown>,
    resolve: (value: unknown) => void,
    reject: (error: unknown) => void,
  ): void {
    this.running.set(lane, (this.running.get(lane) ?? 0) + 1);
    this.runningTotal++;
    let outcome: Promise<unknown>;
    try {
      outcome = run();
    } catch (error) {
      outcome = Promise.reject(asError(error));
    }
    outcome.then(
      (value) => {
        this.finish(lane);
        resolve(value);
      },
      (error: unknown) => {
        this.failWith(error);
        this.finish(lane);
        reject(error);
      },
    );
  }

  private finish(lane: StorageLane | 'barrier'): void {
    this.running.set(lane, (this.running.get(lane) ?? 1) - 1);
    this.runningTotal--;
    this.pump();
    if (this.waiting.length === 0 && this.runningTotal === 0) {
      for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }

  private failWith(error: unknown): void {
    if (this.failure !== undefined) return;
    const failure = asError(error);
    this.failure = failure;
    for (const job of this.waiting.splice(0)) job.reject(failure);
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
