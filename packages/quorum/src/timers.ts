/**
 * Callbacks on (real or virtual) time. Handles are opaque. A deterministic simulator passes
 * virtual timers; production code passes the Node adapter, {@link nodeTimers}.
 */
export interface Timers {
  /** Calls `callback` once after `delayMs` milliseconds; returns a handle for {@link clearTimeout}. */
  setTimeout(callback: () => void, delayMs: number): unknown;
  /** Cancels a callback scheduled by {@link setTimeout}; a settled or unknown handle is ignored. */
  clearTimeout(handle: unknown): void;
}
