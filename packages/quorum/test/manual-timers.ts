import type { Timers } from '../src/timers.js';

interface Scheduled {
  readonly at: number;
  readonly sequence: number;
  readonly callback: () => void;
}

/** Virtual time for tests: callbacks run only when the test advances the clock. */
export class ManualTimers implements Timers {
  #now = 0;
  #sequence = 0;
  readonly #scheduled = new Map<number, Scheduled>();

  get now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, delayMs: number): unknown {
    const sequence = this.#sequence++;
    this.#scheduled.set(sequence, { at: this.#now + delayMs, sequence, callback });
    return sequence;
  }

  clearTimeout(handle: unknown): void {
    this.#scheduled.delete(handle as number);
  }

  /** Number of callbacks waiting. */
  get pending(): number {
    return this.#scheduled.size;
  }

  /**
   * Moves time forward by `ms`, running due callbacks in time order and letting promise reactions
   * run after each one.
   */
  async advance(ms: number): Promise<void> {
    const until = this.#now + ms;
    for (;;) {
      await flushMicrotasks();
      let next: Scheduled | undefined;
      for (const entry of this.#scheduled.values()) {
        if (entry.at > until) continue;
        if (
          next === undefined ||
          entry.at < next.at ||
          (entry.at === next.at && entry.sequence < next.sequence)
        ) {
          next = entry;
        }
      }
      if (next === undefined) break;
      this.#scheduled.delete(next.sequence);
      this.#now = next.at;
      next.callback();
    }
    this.#now = until;
  }
}

/** Lets every queued promise reaction run. */
export async function flushMicrotasks(): Promise<void> {
  for (let round = 0; round < 20; round++) await Promise.resolve();
}
