// kv-node's quorum mode (`--replication quorum`) under chaos, in one short run (about 25 s):
// members SIGKILLed and restarted, and SIGSTOPped and resumed, while clients read and write
// registers at consistency `linearizable` through every member; the history must be linearizable,
// nothing acknowledged lost, and anti-entropy must make every member's state equal after the heal.
// Runs only with CHAOS_SUITE=1; CHAOS_QUORUM_SEED repeats a run; a longer run is the CLI's
// `--replication quorum` (docs/guides/quorum-mode.md).
import { existsSync, mkdirSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { killEverySpawnedNode } from '../src/kv-cluster.js';
import type { FaultKind } from '../src/nemesis-schedule.js';
import { runChaos } from '../src/run-chaos.js';
import { freshSeed } from '../src/seeded-random.js';
import { formatSummary } from '../src/summary-table.js';
import { kvNodeCli, suiteEnabled } from './kv-node-cli.js';
import { seedCovering } from './seed-covering.js';

afterAll(() => killEverySpawnedNode());

const durationMs = 15_000;
/**
 * Both faults are drawn to end within this much of the run, so the second still fits after the
 * first one's recovery (a killed member's restart) shifts it later.
 */
const plannedWithinMs = 10_000;

describe.runIf(suiteEnabled)('quorum mode against real kv-node processes', () => {
  it(
    'kill -9 and SIGSTOP of members under linearizable registers: every check passes',
    async () => {
      expect(existsSync(kvNodeCli), `kv-node is not built at ${kvNodeCli}`).toBe(true);
      const kinds: FaultKind[] = ['kill', 'pause'];
      // A shorter run's schedule is a prefix of this one's (the same draws, cut earlier).
      const seed = seedCovering(
        kinds,
        plannedWithinMs,
        Number(process.env.CHAOS_QUORUM_SEED ?? freshSeed()),
      );
      process.stderr.write(`quorum mode: ${kinds.join(', ')}; seed ${seed}\n`);
      mkdirSync('results', { recursive: true });
      const result = await runChaos({
        kvNodeCli,
        nodeCount: 3,
        durationMs,
        seed,
        kinds,
        replication: 'quorum',
        consistency: 'linearizable',
        resultsDirectory: 'results/quorum-mode',
        log: (line) => process.stderr.write(`${line}\n`),
      });
      process.stderr.write(`${formatSummary(result)}\n`);
      expect(result.checks.filter((check) => !check.passed)).toEqual([]);
      expect(result.checks.map((check) => check.name)).toContain('linearizable');
      // Both faults were applied (quorum mode has no leader: none is skipped for want of one).
      const applied = new Set(
        result.faults.filter((fault) => fault.skipped === undefined).map((fault) => fault.kind),
      );
      expect([...applied].sort()).toEqual(['kill', 'pause']);
    },
    durationMs + 120_000,
  );
});
