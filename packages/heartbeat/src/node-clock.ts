import type { Clock } from './clock.js';

/**
 * The real monotonic {@link Clock}: `performance.now()`, milliseconds with sub-millisecond
 * precision since the process started. Unaffected by changes to the system's wall clock. Uses the
 * global `performance`, so it also works outside Node.
 */
export const nodeClock: Clock = {
  now: () => performance.now(),
};
