/** Callbacks on (real or virtual) time. Handles are opaque. */
export interface Timers {
  /**
   * Calls `callback` once, `delayMs` milliseconds from now.
   *
   * @returns an opaque handle for {@link Timers.clearTimeout}
   */
  setTimeout(callback: () => void, delayMs: number): unknown;
  /** Cancels a callback scheduled by {@link Timers.setTimeout}; a handle that already fired is ignored. */
  clearTimeout(handle: unknown): void;
}
