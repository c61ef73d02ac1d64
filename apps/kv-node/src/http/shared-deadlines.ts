/**
 * Deadlines for many concurrent operations with the same timeout, on two timers per time slice
 * instead of one timer per operation.
 *
 * Why: every write and linearizable read waits with a deadline; under load, creating and clearing
 * a timer per request cost a few percent of a node's CPU. Operations started within one slice
 * (a tenth of the timeout, at most 100 ms) share one expiry timer, armed for the timeout plus the
 * slice, so no operation expires early and none later than one slice past its own deadline.
 */

import type { Timers } from './api-context.js';

interface Slice {
  readonly callbacks: Set<() => void>;
  handle: unknown;
  /** No new operations join once the slice is over. */
  closed: boolean;
}

/** Runs callbacks once their shared deadline passes, unless cancelled first. */
export class SharedDeadlines {
  readonly #timers: Timers;
  readonly #timeoutMs: number;
  readonly #sliceMs: number;
  #open: Slice | undefined;

  /**
   * @param timers where time comes from.
   * @param timeoutMs how long an operation may take, in ms.
   */
  constructor(timers: Timers, timeoutMs: number) {
    this.#timers = timers;
    this.#timeoutMs = timeoutMs;
    this.#sliceMs = Math.max(1, Math.min(100, Math.floor(timeoutMs / 10)));
  }

  /**
   * Calls `onTimeout` after at least the timeout (and at most one slice more), unless the
   * returned function is called first.
   */
  start(onTimeout: () => void): () => void {
    const slice = this.#open ?? this.#openSlice();
    slice.callbacks.add(onTimeout);
    return () => {
      slice.callbacks.delete(onTimeout);
      // A finished slice with nothing left to expire keeps no timer (and no process) alive.
      if (slice.closed && slice.callbacks.size === 0) this.#disarm(slice);
    };
  }

  #openSlice(): Slice {
    const slice: Slice = { callbacks: new Set(), handle: undefined, closed: false };
    this.#open = slice;
    slice.handle = this.#timers.setTimeout(() => {
      slice.handle = undefined;
      const expired = [...slice.callbacks];
      slice.callbacks.clear();
      for (const callback of expired) callback();
    }, this.#timeoutMs + this.#sliceMs);
    this.#timers.setTimeout(() => {
      slice.closed = true;
      if (this.#open === slice) this.#open = undefined;
      if (slice.callbacks.size === 0) this.#disarm(slice);
    }, this.#sliceMs);
    return slice;
  }

  #disarm(slice: Slice): void {
    if (slice.handle === undefined) return;
    this.#timers.clearTimeout(slice.handle);
    slice.handle = undefined;
  }
}
