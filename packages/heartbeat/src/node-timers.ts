import type { Timers } from './timers.js';

/** Options for {@link createNodeTimers}. */
export interface NodeTimersOptions {
  /**
   * Whether the timers let the process exit while they are pending (Node's `unref`). Default
   * `false`: a pending heartbeat keeps the process alive, as a plain `setTimeout` would.
   */
  readonly unref?: boolean;
}

/** Creates {@link Timers} backed by Node's `setTimeout` (whose clock is monotonic). */
export function createNodeTimers(options: NodeTimersOptions = {}): Timers {
  const unref = options.unref ?? false;
  return {
    setTimeout(callback, delayMs) {
      const handle = setTimeout(callback, delayMs);
      if (unref) handle.unref();
      return handle;
    },
    clearTimeout(handle) {
      clearTimeout(handle as ReturnType<typeof setTimeout> | undefined);
    },
  };
}

/** The real {@link Timers}: Node's `setTimeout` and `clearTimeout`. */
export const nodeTimers: Timers = createNodeTimers();
