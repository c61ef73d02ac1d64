import { expect, it } from 'vitest';
import { runSeedSet, seedSetTimeoutMs } from './test-support/simulated-run.js';

// Randomized simulation, 3 nodes, seeds 151..300 (the other half is in the sibling file so the two
// run in parallel). Each seed: 30 virtual seconds of client load under random faults, then recovery.
it(
  '3 nodes, 150 seeds x 30 s: no invariant violation, linearizable, every sometimes hit',
  async () => {
    const { seeds } = await runSeedSet(151, 150, 3);
    expect(seeds).toBeGreaterThan(0);
  },
  seedSetTimeoutMs(150),
);
