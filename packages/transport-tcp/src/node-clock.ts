import type { Clock, Timers } from './ports.js';

/** The process's monotonic clock (`performance.now()`), in milliseconds. */
export const nodeClock: Clock = {
  now: () => performance.now(),
};

/** Real timers from Node's global `setTimeout` / `clearTimeout`. Delays are in milliseconds. */
export const nodeTimers: Timers = {
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
