interface Waiter {
  index: number;
  resolve: () => void;
}

/** Lets callers wait until the local state machine has applied a given log index. */
export class ApplyTracker {
  #appliedIndex = 0;
  // Waiters sorted by index would be a heap; reads wait for recent indexes, so the list stays short.
  #waiters: Waiter[] = [];

  /** Index of the last applied entry. */
  get appliedIndex(): number {
    return this.#appliedIndex;
  }

  /** Records that everything up to `index` is applied and wakes the waiters it satisfies. */
  applied(index: number): void {
    if (index <= this.#appliedIndex) return;
    this.#appliedIndex = index;
    if (this.#waiters.length === 0) return;
    const still: Waiter[] = [];
    for (const waiter of this.#waiters) {
      if (waiter.index <= index) waiter.resolve();
      else still.push(waiter);
    }
    this.#waiters = still;
  }

  /** Resolves once `index` is applied (at once if it already is). */
  waitFor(index: number): Promise<void> {
    if (index <= this.#appliedIndex) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ index, resolve }));
  }
}
