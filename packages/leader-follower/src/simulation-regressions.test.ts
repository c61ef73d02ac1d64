import { SometimesCounters } from '@x/simulation';
import { afterEach, describe, expect, it } from 'vitest';
import { runRandomized, SOMETIMES_EVENTS } from './test-support/simulated-run.js';

/** Seeds the soaks found a bug with, each run again as it was found. */
describe('simulation regressions', () => {
  const unhandled: unknown[] = [];
  const record = (reason: unknown): void => {
    unhandled.push(reason);
  };
  afterEach(() => {
    process.off('unhandledRejection', record);
  });

  it.each([1215, 3378])(
    'seed %i: a failed fsync while earlier persistence is pending stops the node, with no unhandled rejection',
    async (seed) => {
      process.on('unhandledRejection', record);
      const sometimes = new SometimesCounters([...SOMETIMES_EVENTS]);
      await runRandomized({ seed, nodes: 3, durationMs: 30_000, sometimes });
      // Node reports a rejection nobody handled once the microtasks of a macrotask have run.
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
      expect(sometimes.count('storage failed; stopping')).toBeGreaterThan(0);
    },
    120_000,
  );
});
