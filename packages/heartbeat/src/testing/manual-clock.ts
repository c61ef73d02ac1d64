import type { Clock } from '../clock.js';
import type { Timers } from '../timers.js';

interface ScheduledCallback {
  readonly dueAt: number;
  readonly sequence: number;
  readonly callback: () => void;
}

/**
 * A virtual monotonic {@link Clock} and {@link Timers} in one object, for deterministic tests:
 * time moves only when {@link ManualClock.advance} is called, and callbacks due by then run in
 * order of due time (ties in the order they were scheduled), each at its own due time.
 */
export class ManualClock implements Clock, Timers {
  #now: number;
  #sequence = 0;
  /** Pending callbacks by handle; a cancelled one is removed here and skipped in the heap. */
  readonly #pending = new Map<number, ScheduledCallback>();
  /** A binary min-heap by (due time, sequence), so many timers stay cheap. */
  readonly #heap: ScheduledCallback[] = [];

  /** @param startMs the initial reading of {@link ManualClock.now}, in milliseconds. Default 0. */
  constructor(startMs = 0) {
    this.#now = startMs;
  }

  /** The virtual time in milliseconds. */
  now(): number {
    return this.#now;
  }

  /** Schedules `callback` at now + `delayMs` (a negative delay counts as 0); returns a numeric handle. */
  setTimeout(callback: () => void, delayMs: number): unknown {
    const sequence = ++this.#sequence;
    const scheduled = { dueAt: this.#now + Math.max(0, delayMs), sequence, callback };
    this.#pending.set(sequence, scheduled);
    this.#push(scheduled);
    return sequence;
  }

  /** Cancels a scheduled callback; unknown or fired handles are ignored. */
  clearTimeout(handle: unknown): void {
    if (typeof handle === 'number') this.#pending.delete(handle);
  }

  /** How many callbacks are scheduled and not yet run or cancelled. */
  get pendingTimers(): number {
    return this.#pending.size;
  }

  /**
   * Moves time forward by `ms`, running every callback that falls due on the way (including ones
   * scheduled by those callbacks), each with the clock set to its due time.
   *
   * @throws RangeError if `ms` is negative or not finite: a monotonic clock never goes back
   */
  advance(ms: number): void {
    if (!(Number.isFinite(ms) && ms >= 0)) {
      throw new RangeError(`a monotonic clock only moves forward; cannot advance by ${String(ms)}`);
    }
    const target = this.#now + ms;
    for (
      let next = this.#heap[0];
      next !== undefined && next.dueAt <= target;
      next = this.#heap[0]
    ) {
      this.#pop();
      if (!this.#pending.delete(next.sequence)) continue; // cancelled
      this.#now = Math.max(this.#now, next.dueAt);
      next.callback();
    }
    // Max, because a callback may itself have advanced the clock past `target`.
    this.#now = Math.max(this.#now, target);
  }

  #push(scheduled: ScheduledCallback): void {
    const heap = this.#heap;
    heap.push(scheduled);
    for (let i = heap.length - 1; i > 0;) {
      const parent = (i - 1) >> 1;
      if (!earlier(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop();
    if (last === undefined || heap.length === 0) return;
    heap[0] = last;
    for (let i = 0; ;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < heap.length && earlier(heap[left]!, heap[smallest]!)) smallest = left;
      if (right < heap.length && earlier(heap[right]!, heap[smallest]!)) smallest = right;
      if (smallest === i) return;
      [heap[i], heap[smallest]] = [heap[smallest]!, heap[i]!];
      i = smallest;
    }
  }
}

function earlier(a: ScheduledCallback, b: ScheduledCallback): boolean {
  return a.dueAt < b.dueAt || (a.dueAt === b.dueAt && a.sequence < b.sequence);
}
