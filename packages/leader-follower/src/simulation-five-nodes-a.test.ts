import { expect, it } from 'vitest';
import { runSeedSet, seedSetTimeoutMs } from './test-support/simulated-run.js';

// Randomized simulation, 5 nodes, 50 seeds from 100001 (the sibling file runs the other 50).
it(
  '5 nodes, 50 seeds x 30 s: no invariant violation, linearizable, every sometimes hit',
  async () => {
    const { seeds } = await runSeedSet(100001, 50, 5);
    expect(seeds).toBeGreaterThan(0);
  },
  seedSetTimeoutMs(50),
);
