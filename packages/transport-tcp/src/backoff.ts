import type { Random } from './ports.js';

/** Reconnect timing: exponential backoff with full jitter. All durations in milliseconds. */
export interface BackoffOptions {
  /** The delay before the first retry, before jitter. Default 50 ms. */
  initialDelayMs?: number;
  /** The cap on the delay, before jitter. Default 5,000 ms. */
  maxDelayMs?: number;
  /** The factor applied per failed attempt. Default 2. */
  multiplier?: number;
  /**
   * The fraction of the delay that is randomised, in [0, 1]. With 0.5 the delay is uniform in
   * [delay / 2, delay]. Default 0.5. Jitter keeps a restarted cluster from reconnecting in lockstep.
   */
  jitter?: number;
}

/**
 * The delay before reconnect attempt `attempt` (0 for the first retry): `initial * multiplier^attempt`
 * capped at `max`, then reduced by a random fraction of up to `jitter` drawn from `random`.
 */
export function backoffDelayMs(
  attempt: number,
  random: Random,
  options: BackoffOptions = {},
): number {
  const initial = options.initialDelayMs ?? 50;
  const max = options.maxDelayMs ?? 5000;
  const multiplier = options.multiplier ?? 2;
  const jitter = Math.min(1, Math.max(0, options.jitter ?? 0.5));
  const base = Math.min(max, initial * Math.pow(multiplier, Math.min(attempt, 64)));
  return base * (1 - jitter * random.next());
}
