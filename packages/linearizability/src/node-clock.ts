import type { Clock } from './clock.js';

/** The process's monotonic clock (`performance.now()`), in milliseconds. */
export const nodeClock: Clock = {
  now: () => performance.now(),
};
