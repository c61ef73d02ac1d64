// Shows the checker bites on the real system, under leader pauses and isolation:
// - with kv-node's deliberately unsafe, test-only option (linearizable reads served locally by
//   whoever believes it leads, without the quorum round), when kv-node's --help lists it;
// - with serializable reads (served locally, possibly stale) checked as linearizable reads.
// Both runs must be reported non-linearizable. Runs only with CHAOS_SUITE=1.
import { afterAll, describe, expect, it } from 'vitest';
import { killEverySpawnedNode } from '../src/kv-cluster.js';
import { runChaos } from '../src/run-chaos.js';
import { formatSummary } from '../src/summary-table.js';
import { kvNodeCli, kvNodeHasFlag, suiteEnabled } from './kv-node-cli.js';

const unsafeFlag = process.env.CHAOS_UNSAFE_FLAG ?? '--unsafe-local-linearizable-reads';

afterAll(() => killEverySpawnedNode());

/** Runs a schedule of leader pauses and isolations and returns the linearizability verdict. */
async function runUnsafely(options: {
  extraNodeArgs?: string[];
  unsafeSerializableReads?: boolean;
  resultsDirectory: string;
}): Promise<boolean | undefined> {
  const result = await runChaos({
    kvNodeCli,
    nodeCount: 3,
    durationMs: 30_000,
    seed: 7,
    kinds: ['pause', 'partition'],
    // Many readers per key make a stale read likely to be seen.
    registerWorkers: 12,
    workersPerKey: 6,
    ...options,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  process.stderr.write(`${formatSummary(result)}\n`);
  return result.checks.find((check) => check.name === 'linearizable')?.passed;
}

describe.runIf(suiteEnabled)('the checker bites', () => {
  it.runIf(suiteEnabled && kvNodeHasFlag(unsafeFlag))(
    `reports kv-node ${unsafeFlag} as not linearizable under leader pauses and isolation`,
    async () => {
      const passed = await runUnsafely({
        extraNodeArgs: [unsafeFlag],
        resultsDirectory: 'results/checker-bites',
      });
      expect(passed).toBe(false);
    },
    180_000,
  );

  it('reports serializable reads checked as linearizable as not linearizable', async () => {
    const passed = await runUnsafely({
      unsafeSerializableReads: true,
      resultsDirectory: 'results/checker-bites',
    });
    expect(passed).toBe(false);
  }, 180_000);
});
