// Before/after runner for the loopback benchmark: two 3-process clusters, one of another build
// of bench/replication-node.ts (LF_BENCH_BEFORE: its built replication-node.js) and one of this
// build, measured in interleaved rounds (ABBA: the arm that goes first alternates) at 1 and 64
// proposers, so both see the same machine load. Prints every round and the median per arm as
// JSON; `afterOverBefore` is after's median entries/s divided by before's.
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { LoadResult } from './loopback-cluster.js';
import { LoopbackCluster } from './loopback-cluster.js';

const beforeScript = process.env['LF_BENCH_BEFORE'];
if (beforeScript === undefined || !existsSync(beforeScript)) {
  console.error(
    'LF_BENCH_BEFORE must name the replication-node.js of the build to compare with (build it with tsup --config tsup.bench.config.ts in a worktree of that commit)',
  );
  process.exit(2);
}
const durationMs = Number(process.env['LF_BENCH_MS'] ?? 5_000);
const rounds = Number(process.env['LF_BENCH_ROUNDS'] ?? 6);
const concurrencies = [1, 64];
const arms = {
  before: beforeScript,
  after: fileURLToPath(new URL('./replication-node.js', import.meta.url)),
};
type Arm = keyof typeof arms;

/** One arm at one concurrency: medians over the rounds, and each round's throughput. */
interface ArmSummary {
  entriesPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  perRound: number[];
  /** Median CPU microseconds (user + system, all three processes) per committed entry. */
  cpuUsPerEntry: number;
}

/** The median, to three decimals. */
const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const value =
    sorted.length % 2 === 1
      ? (sorted[middle] as number)
      : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
  return Number(value.toFixed(3));
};

const loadBefore = loadavg();
const clusters = {
  before: await LoopbackCluster.start(arms.before),
  after: await LoopbackCluster.start(arms.after),
};
for (const arm of ['before', 'after'] as const) await clusters[arm].load(64, 1_000);
const measured: { round: number; arm: Arm; result: LoadResult; cpuUsPerEntry?: number }[] = [];
for (let round = 0; round < rounds; round++) {
  const order: Arm[] = round % 2 === 0 ? ['before', 'after'] : ['after', 'before'];
  for (const arm of order) {
    for (const concurrency of concurrencies) {
      const cpuBefore = clusters[arm].cpuSeconds();
      const result = await clusters[arm].load(concurrency, durationMs);
      const cpuAfter = clusters[arm].cpuSeconds();
      // CPU of all three processes (the idle cluster of the other arm is not counted).
      const cpuUsPerEntry =
        cpuBefore === undefined || cpuAfter === undefined || result.committed === 0
          ? undefined
          : Number((((cpuAfter - cpuBefore) * 1e6) / result.committed).toFixed(1));
      measured.push({
        round,
        arm,
        result,
        ...(cpuUsPerEntry === undefined ? {} : { cpuUsPerEntry }),
      });
      console.error(
        `round ${round + 1} ${arm.padEnd(6)} ${String(concurrency).padStart(2)} proposers: ${result.entriesPerSecond} entries/s, p50 ${result.latencyMs['p50']} ms, ${cpuUsPerEntry ?? '?'} µs CPU per entry`,
      );
    }
  }
}
for (const arm of ['before', 'after'] as const) await clusters[arm].stop();
const summary = concurrencies.map((concurrency) => {
  const entriesOf = (arm: Arm) =>
    measured.filter((entry) => entry.arm === arm && entry.result.concurrency === concurrency);
  const of = (arm: Arm): LoadResult[] => entriesOf(arm).map((entry) => entry.result);
  const arm = (name: Arm): ArmSummary => {
    const results = of(name);
    return {
      entriesPerSecond: median(results.map((result) => result.entriesPerSecond)),
      p50Ms: median(results.map((result) => result.latencyMs['p50'] ?? 0)),
      p99Ms: median(results.map((result) => result.latencyMs['p99'] ?? 0)),
      perRound: results.map((result) => result.entriesPerSecond),
      cpuUsPerEntry: median(entriesOf(name).flatMap((entry) => entry.cpuUsPerEntry ?? [])),
    };
  };
  const medians = { before: arm('before'), after: arm('after') };
  return {
    concurrency,
    ...medians,
    cpuAfterOverBefore: Number(
      (medians.after.cpuUsPerEntry / medians.before.cpuUsPerEntry).toFixed(3),
    ),
    afterOverBefore: Number(
      (medians.after.entriesPerSecond / medians.before.entriesPerSecond).toFixed(3),
    ),
  };
});
console.log(
  JSON.stringify(
    {
      benchmark: 'leader-follower loopback, before/after interleaved (3 processes each, WAL + TCP)',
      entryBytes: 100,
      durationMs,
      rounds,
      node: process.version,
      loadBefore,
      loadAfter: loadavg(),
      summary,
    },
    null,
    2,
  ),
);
process.exit(0);
