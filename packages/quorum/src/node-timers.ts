import type { Timers } from './timers.js';

/** The {@link Timers} port on Node's own timers (monotonic: unaffected by wall-clock jumps). */
export const nodeTimers: Timers = {
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
