/**
 * Quorum mode (`--replication quorum`) beside leader mode, in one run on one machine (run
 * `pnpm build` first): a 3-member cluster of each mode runs at the same time on loopback, and
 * every measured cell (a workload at a client count) runs its arms back to back — leader mode,
 * then quorum mode at `one`, `quorum` and `linearizable` — in an order rotated each round, so a
 * change in the machine's load hits all arms alike. Leader mode's reads are measured linearizable
 * (`range`) and serializable (`range-serializable`); quorum mode's reads and writes carry the
 * level in `X-Kv-Consistency`. Output: one JSON object per arm, then a Markdown table of every
 * round's figures.
 *
 * Environment: SECONDS_PER_RUN (default 5), ROUNDS (default 2), WORKLOADS (comma-separated
 * "workload:clients", default put:1,put:64,range:1,range:64), KEYS (distinct keys; a range arm
 * first fills them, default 1000), WARMUP_SECONDS (default 3, a mixed run per mode that is not
 * reported), BASE_PORT (default 43379; leader mode uses BASE_PORT + 10 * i and + 1, quorum mode
 * 100 above), BENCH_KV_NODE_CLI (default ../dist/cli.js).
 */

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { BenchCluster } from './bench-cluster.js';
import {
  assertMembersRunning,
  kvNodeSystem,
  processCosts,
  startBenchCluster,
} from './bench-cluster.js';
import { kvNodeCli, kvBenchScript as benchScript } from './bench-settings.js';

const run = promisify(execFile);
const seconds = process.env.SECONDS_PER_RUN ?? '5';
const rounds = Number(process.env.ROUNDS ?? 2);
const keys = process.env.KEYS ?? '1000';
const basePort = Number(process.env.BASE_PORT ?? 43379);
const cells = (process.env.WORKLOADS ?? 'put:1,put:64,range:1,range:64').split(',').map((item) => {
  const [workload, clients] = item.split(':');
  return { workload: workload as 'put' | 'range', clients: Number(clients) };
});

/** One measured configuration: a mode, and for quorum mode a consistency level. */
interface Arm {
  readonly label: string;
  readonly mode: 'leader' | 'quorum';
  /** Sent as `X-Kv-Consistency` (quorum mode only). */
  readonly consistency?: 'one' | 'quorum' | 'linearizable';
  /** Leader mode's local read: the `range-serializable` workload. */
  readonly serializable?: boolean;
}

function armsOf(workload: 'put' | 'range'): Arm[] {
  const leader: Arm[] =
    workload === 'put'
      ? [{ label: 'leader', mode: 'leader' }]
      : [
          { label: 'leader linearizable', mode: 'leader' },
          { label: 'leader serializable', mode: 'leader', serializable: true },
        ];
  return [
    ...leader,
    ...(['one', 'quorum', 'linearizable'] as const).map((consistency): Arm => ({
      label: `quorum ${consistency}`,
      mode: 'quorum',
      consistency,
    })),
  ];
}

interface ArmResult {
  readonly throughput: number;
  readonly requests: number;
  readonly errors: number;
  readonly latencyMs: { p50: number; p99: number };
}

async function kvBench(
  cluster: BenchCluster,
  workload: string,
  clients: number,
  durationSeconds: string,
  consistency: string | undefined,
): Promise<ArmResult & Record<string, unknown>> {
  const { stdout } = await run(process.execPath, [
    benchScript,
    '--endpoints',
    cluster.clientUrls.join(','),
    '--workload',
    workload,
    '--clients',
    String(clients),
    '--duration',
    durationSeconds,
    '--value-size',
    '100',
    '--keys',
    keys,
    ...(consistency === undefined ? [] : ['--consistency', consistency]),
  ]);
  return JSON.parse(stdout) as ArmResult & Record<string, unknown>;
}

const leaderCluster = await startBenchCluster(kvNodeSystem(kvNodeCli, [], 'leader'), basePort);
let quorumCluster: BenchCluster | undefined;
const table = new Map<string, string[]>();
try {
  quorumCluster = await startBenchCluster(kvNodeSystem(kvNodeCli, [], 'quorum'), basePort + 100);
  const clusterOf = (arm: Arm): BenchCluster =>
    arm.mode === 'leader' ? leaderCluster : (quorumCluster as BenchCluster);
  const warmup = process.env.WARMUP_SECONDS ?? '3';
  await kvBench(leaderCluster, 'mixed', 64, warmup, undefined);
  await kvBench(quorumCluster, 'mixed', 64, warmup, 'quorum');
  for (let round = 0; round < rounds; round++) {
    for (const { workload, clients } of cells) {
      const arms = armsOf(workload);
      // Rotate the order each round: no arm always runs first (or last) in a cell.
      const shift = round % arms.length;
      for (const arm of [...arms.slice(shift), ...arms.slice(0, shift)]) {
        const cluster = clusterOf(arm);
        await assertMembersRunning(cluster, `${arm.mode} mode`);
        const costsBefore = await processCosts(cluster.children);
        const result = await kvBench(
          cluster,
          arm.serializable === true ? 'range-serializable' : workload,
          clients,
          seconds,
          arm.consistency,
        );
        const costsAfter = await processCosts(cluster.children);
        const cpuMsPerRequest =
          costsBefore === undefined || costsAfter === undefined || result.requests === 0
            ? undefined
            : Math.round(
                (1e6 * (costsAfter.cpuSeconds - costsBefore.cpuSeconds)) / result.requests,
              ) / 1000;
        console.log(
          JSON.stringify({
            round,
            arm: arm.label,
            mode: arm.mode,
            consistency:
              arm.consistency ?? (arm.serializable === true ? 'serializable' : 'linearizable'),
            ...result,
            ...(cpuMsPerRequest === undefined ? {} : { cpuMsPerRequest }),
          }),
        );
        const row = `${workload} | ${clients} | ${arm.label}`;
        const cellText = `${result.throughput}|${result.latencyMs.p50}|${result.latencyMs.p99}|${cpuMsPerRequest ?? '-'}|${result.errors}`;
        table.set(row, [...(table.get(row) ?? []), cellText]);
      }
    }
  }
} finally {
  await Promise.all([leaderCluster.stop(false), quorumCluster?.stop(false)]);
}

// One row per arm; each column lists every round's figure, "a / b".
const column = (figures: string[], index: number): string =>
  figures.map((figure) => figure.split('|')[index]).join(' / ');
console.log('\n| workload | clients | arm | req/s | p50 ms | p99 ms | cpu ms/req | errors |');
console.log('| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |');
for (const [row, figures] of table) {
  console.log(`| ${row} | ${[0, 1, 2, 3, 4].map((index) => column(figures, index)).join(' | ')} |`);
}
