import { requireIntegerAtLeast } from './validate.js';

/**
 * The last `capacity` inter-arrival intervals of one peer's heartbeats, with their mean and
 * standard deviation in O(1) per sample (running sums over a ring buffer).
 */
export class HeartbeatHistory {
  readonly #intervals: Float64Array;
  #count = 0;
  #next = 0;
  #sum = 0;
  #sumOfSquares = 0;

  /** @throws RangeError if `capacity` is not an integer >= 1. */
  constructor(capacity: number) {
    requireIntegerAtLeast('capacity', capacity, 1);
    this.#intervals = new Float64Array(capacity);
  }

  /** How many intervals are held (at most the capacity). */
  get size(): number {
    return this.#count;
  }

  /** Adds an interval in milliseconds, dropping the oldest when full. */
  add(intervalMs: number): void {
    const capacity = this.#intervals.length;
    if (this.#count === capacity) {
      const oldest = this.#intervals[this.#next] ?? 0;
      this.#sum -= oldest;
      this.#sumOfSquares -= oldest * oldest;
    } else {
      this.#count += 1;
    }
    this.#intervals[this.#next] = intervalMs;
    this.#sum += intervalMs;
    this.#sumOfSquares += intervalMs * intervalMs;
    this.#next = (this.#next + 1) % capacity;
    // Subtracting evicted samples accumulates rounding error; an exact recount once per lap
    // keeps it bounded at O(1) amortized cost.
    if (this.#next === 0 && this.#count === capacity) this.#recount();
  }

  /** Mean interval in milliseconds; 0 when empty. */
  mean(): number {
    return this.#count === 0 ? 0 : this.#sum / this.#count;
  }

  /** Population standard deviation in milliseconds; 0 when empty. */
  standardDeviation(): number {
    if (this.#count === 0) return 0;
    const mean = this.#sum / this.#count;
    return Math.sqrt(Math.max(0, this.#sumOfSquares / this.#count - mean * mean));
  }

  #recount(): void {
    let sum = 0;
    let sumOfSquares = 0;
    for (const interval of this.#intervals) {
      sum += interval;
      sumOfSquares += interval * interval;
    }
    this.#sum = sum;
    this.#sumOfSquares = sumOfSquares;
  }
}
