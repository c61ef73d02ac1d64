import type { SeededRandom } from './seeded-random.js';

/** Draws one message latency in virtual milliseconds from the network's random stream. */
export type LatencyDistribution = (random: SeededRandom) => number;

/** Latency uniform in [minMs, maxMs). Throws RangeError if min is negative or above max. */
export function uniformLatency(minMs: number, maxMs: number): LatencyDistribution {
  if (minMs < 0 || maxMs < minMs) throw new RangeError(`bad latency range [${minMs}, ${maxMs})`);
  return (random) => random.between(minMs, maxMs);
}

/**
 * Latency `minMs` plus an exponential tail with mean `meanExtraMs`: most messages are fast and a
 * few are very slow, as on a real network. Throws RangeError for negative arguments.
 */
export function exponentialLatency(minMs: number, meanExtraMs: number): LatencyDistribution {
  if (minMs < 0 || meanExtraMs < 0) throw new RangeError('latency arguments must be >= 0');
  return (random) => minMs + random.exponential(meanExtraMs);
}

/** Always `ms`. Useful in scripted scenarios. */
export function fixedLatency(ms: number): LatencyDistribution {
  if (ms < 0) throw new RangeError('latency must be >= 0');
  return () => ms;
}
