/** Real time for the dashboard: Node timers that never keep the process alive, and the clocks. */

import type { Clock, Timers } from './dashboard-ports.js';

/** Node timers, unref'd: the dashboard's polling must never keep a stopping process alive. */
export const unrefTimers: Timers = {
  setTimeout(callback, delayMs) {
    const handle = setTimeout(callback, delayMs);
    handle.unref();
    return handle;
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};

/** Monotonic milliseconds (`performance.now()`), for rates. */
export const monotonicClock: Clock = { now: () => performance.now() };

/** Wall-clock milliseconds since the Unix epoch, only for times a human reads on the page. */
export const wallClock: Clock = { now: () => Date.now() };
