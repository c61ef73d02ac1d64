import type { Clock, Timers, WallClock } from './ports.js';

/** Monotonic milliseconds from `performance.now()`. */
export const nodeClock: Clock = { now: () => performance.now() };

/** Wall-clock milliseconds from `Date.now()`; only for dating segments. */
export const nodeWallClock: WallClock = { now: () => Date.now() };

/** Node's timers; unref'd so a pending interval sync never keeps a process alive. */
export const nodeTimers: Timers = {
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs).unref(),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
