/**
 * Throttling of failed authentications, per user name, in bounded memory: after
 * `freeFailures` failures in a row, each further attempt must wait a delay that doubles per
 * failure (from `baseDelayMs` up to `maxDelayMs`); a success forgets the name. At most
 * `maxTracked` names are remembered (the oldest is forgotten first), so a flood of random names
 * costs a fixed amount of memory. Password guessing is also slowed by the hash cost itself.
 */

/** Settings of a {@link FailureThrottle}. */
export interface FailureThrottleOptions {
  /** Failures allowed before delays start. Default 5. */
  freeFailures?: number;
  /** First delay, in ms. Default 1,000. */
  baseDelayMs?: number;
  /** Longest delay, in ms. Default 60,000. */
  maxDelayMs?: number;
  /** Most names remembered. Default 10,000. */
  maxTracked?: number;
}

interface Failures {
  count: number;
  /** No attempt before this time (ms). */
  blockedUntilMs: number;
}

/** See the file comment. */
export class FailureThrottle {
  readonly #freeFailures: number;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #maxTracked: number;
  /** Insertion order is age order: the first entry is the oldest. */
  readonly #failures = new Map<string, Failures>();

  /** @param options see {@link FailureThrottleOptions}. */
  constructor(options: FailureThrottleOptions = {}) {
    this.#freeFailures = options.freeFailures ?? 5;
    this.#baseDelayMs = options.baseDelayMs ?? 1000;
    this.#maxDelayMs = options.maxDelayMs ?? 60_000;
    this.#maxTracked = Math.max(1, options.maxTracked ?? 10_000);
  }

  /** Number of names remembered. */
  get size(): number {
    return this.#failures.size;
  }

  /** Whether an attempt for `name` must be refused now. */
  isBlocked(name: string, nowMs: number): boolean {
    const failures = this.#failures.get(name);
    return failures !== undefined && nowMs < failures.blockedUntilMs;
  }

  /** Records a failed attempt for `name`. */
  failed(name: string, nowMs: number): void {
    const previous = this.#failures.get(name);
    const count = (previous?.count ?? 0) + 1;
    this.#failures.delete(name);
    const excess = count - this.#freeFailures;
    const delay =
      excess <= 0
        ? 0
        : Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** Math.min(30, excess - 1));
    this.#failures.set(name, { count, blockedUntilMs: nowMs + delay });
    while (this.#failures.size > this.#maxTracked) {
      const oldest = this.#failures.keys().next().value as string;
      this.#failures.delete(oldest);
    }
  }

  /** Forgets `name`'s failures after a success. */
  succeeded(name: string): void {
    this.#failures.delete(name);
  }
}
