// The CI chaos suite (issue 9): four random 60 s schedules, two on 3 nodes and two on 5, with
// kill, pause, partition, stale-leader and clock faults, against real kv-node processes. About
// 5 minutes, so it runs only with CHAOS_SUITE=1 (`pnpm --filter @x/chaos run test:ci-suite`);
// kv-node must be built. Clock faults need Debian's faketime; without it they are skipped with a
// notice in the summary.
import { existsSync, mkdirSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { formatSummary } from '../src/summary-table.js';
import { killEverySpawnedNode } from '../src/kv-cluster.js';
import { runChaos } from '../src/run-chaos.js';
import { freshSeed } from '../src/seeded-random.js';
import { kvNodeCli, suiteBackend, suiteEnabled } from './kv-node-cli.js';

afterAll(() => killEverySpawnedNode());

const seeds = (process.env.CHAOS_SEEDS ?? '')
  .split(',')
  .filter((seed) => seed !== '')
  .map(Number);
const durationMs = Number(process.env.CHAOS_DURATION_MS ?? 60_000);

describe.runIf(suiteEnabled)('chaos CI suite against real kv-node processes', () => {
  const runs = [3, 3, 5, 5].map((nodeCount, index) => ({
    nodeCount,
    seed: seeds[index] ?? freshSeed(),
  }));
  for (const { nodeCount, seed } of runs) {
    it(
      `seed ${seed} on ${nodeCount} nodes (${suiteBackend} backend): every check passes`,
      async () => {
        expect(existsSync(kvNodeCli), `kv-node is not built at ${kvNodeCli}`).toBe(true);
        mkdirSync('results', { recursive: true });
        const result = await runChaos({
          kvNodeCli,
          backend: suiteBackend,
          nodeCount,
          durationMs,
          seed,
          kinds: ['kill', 'kill-leader', 'pause', 'partition', 'stale-leader', 'clock-offset'],
          resultsDirectory: 'results/ci-suite',
          log: (line) => process.stderr.write(`${line}\n`),
        });
        process.stderr.write(`${formatSummary(result)}\n`);
        expect(result.checks.filter((check) => !check.passed)).toEqual([]);
      },
      durationMs + 120_000,
    );
  }
});
