/** The narrow ports the dashboard uses (the project's shared shapes), so tests can drive time. */

/** Monotonic time in milliseconds (never wall time). */
export interface Clock {
  now(): number;
}

/** Callbacks on (real or virtual) time. Handles are opaque. */
export interface Timers {
  setTimeout(callback: () => void, delayMs: number): unknown;
  clearTimeout(handle: unknown): void;
}
