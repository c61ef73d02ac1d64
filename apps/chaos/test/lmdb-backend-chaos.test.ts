// The chaos CI suite once more, on kv-node's LMDB state backend (issue 25), in one short run
// (25-35 s on a loaded 2-core machine): the other suite files run on the memory backend, and
// this one runs the faults whose outcome depends on where the state lives. A SIGKILL of one
// member, the leader or a minority (the restarted member opens its LMDB file and replays only
// the log after the applied index LMDB holds, then catches up), a partition (the cut-off side
// falls behind), and a SIGKILL of every member at once mid-load (every member restarts from its
// LMDB file; nothing acknowledged may be lost). `--snapshot-count 100` keeps the leader's log
// short (it retains 100 entries past each snapshot), so a member that fell a few hundred writes
// behind catches up by a snapshot streamed from the leader's LMDB read transaction and installed
// in place of its own store. Under the register, set, watch and poison workloads, every check
// must pass: linearizable histories, no acknowledged write lost, equal state hashes after the
// heal.
//
// The three faults are the first three of the schedule (the seed is chosen so) and are applied
// however long recoveries take (`faultCount`). Pause, stale-leader and clock faults are left to
// the memory runs: they exercise replication and reads, which do not depend on the backend, and
// quorum mode has no state store. Runs only with CHAOS_SUITE=1; CHAOS_LMDB_SEED repeats a run.
// The whole suite on LMDB, by hand: CHAOS_BACKEND=lmdb (see the README's "Test suites").
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

const kinds: FaultKind[] = ['kill', 'partition', 'kill-all'];
/**
 * Long enough for any three faults of these kinds to be drawn: the seed is chosen on the first
 * three draws only. The run itself ends once the third fault has recovered.
 */
const drawWithinMs = 60_000;

describe.runIf(suiteEnabled)('the chaos CI suite on the LMDB backend', () => {
  it('kill -9 of members, a partition and a whole-cluster kill on LMDB: every check passes', async () => {
    expect(existsSync(kvNodeCli), `kv-node is not built at ${kvNodeCli}`).toBe(true);
    const seed = seedCovering(
      kinds,
      drawWithinMs,
      Number(process.env.CHAOS_LMDB_SEED ?? freshSeed()),
    );
    process.stderr.write(`lmdb backend: ${kinds.join(', ')}; seed ${seed}\n`);
    mkdirSync('results', { recursive: true });
    const result = await runChaos({
      kvNodeCli,
      backend: 'lmdb',
      nodeCount: 3,
      durationMs: drawWithinMs,
      faultCount: kinds.length,
      seed,
      kinds,
      extraNodeArgs: ['--snapshot-count', '100'],
      resultsDirectory: 'results/lmdb-backend',
      log: (line) => process.stderr.write(`${line}\n`),
    });
    process.stderr.write(`${formatSummary(result)}\n`);
    expect(result.backend).toBe('lmdb');
    expect(result.checks.filter((check) => !check.passed)).toEqual([]);
    // The whole-cluster kill needs no leader, so it is always applied; a fault aimed at the
    // leader is skipped with a notice when none is found on a slow host.
    const applied = result.faults.filter((fault) => fault.skipped === undefined);
    process.stderr.write(`applied: ${applied.map((fault) => fault.kind).join(', ')}\n`);
    expect(applied.map((fault) => fault.kind)).toContain('kill-all');
  }, 180_000);
});
