/**
 * How kv-node's cost grows beside etcd 3.4's (issue 26, "Also report how cost grows"): put
 * throughput at 3 and 5 members, at 100 B and 4 KiB values, with 10,000 and 1,000,000 keys in the
 * store, and a linearizable range of 10,000 keys (latency and bytes/s). Run `pnpm build` first;
 * needs `etcd` (3.4) on the PATH.
 *
 * For each case both systems run side by side as clusters of the same size on loopback
 * (`bench-cluster.ts`, as `bench:etcd` starts them), both loaded with the case's keys the same way
 * (`bench-load.ts`: txns of 128 puts, as `bench:large` loads), both warmed up the same way; then
 * ROUNDS rounds of one kv-bench run (`kv-bench.ts`, a separate process, the same client code,
 * connection count, value size and endpoints for both) per system, alternating kv-node / etcd and
 * swapping who goes first each round, so that both see the same machine. The members' CPU per
 * request comes from /proc (`processCosts`), summed over the members.
 *
 * Cases (CASES, comma-separated, all by default):
 * - `put-3`: put at CLIENTS clients, 3 members, 100 B values, 10,000 keys in the store, random keys;
 *   the baseline the other put cases are compared to;
 * - `put-5`: the same with 5 members;
 * - `put-4k`: the same as `put-3` with 4 KiB values;
 * - `put-1m`: the same as `put-3` with LARGE_KEYS keys (1,000,000) in the store;
 * - `range-10k`: a linearizable range over all of 10,000 keys of 100 B at RANGE_CLIENTS clients.
 *
 * Environment: QUICK=1 (a smoke run: 1 round of 2 s, 1 s warm-up, 50,000 keys for `put-1m`),
 * ROUNDS (default 3), SECONDS_PER_RUN (default 8), WARMUP_SECONDS (default 3), CLIENTS (default
 * 64), RANGE_CLIENTS (default 4), LARGE_KEYS, BASE_PORT (by default each cluster gets a block of
 * ports found free at run time; given, kv-node's members use BASE_PORT + 10 * i and + 1, etcd's
 * the same from BASE_PORT + 100), BENCH_KV_NODE_CLI (default
 * ../dist/cli.js), BENCH_KV_NODE_FLAGS (node flags for kv-node's members). Progress goes to stderr
 * (`run 2 of 30: put @64, 5 members, 100 B, 10,000 keys, on etcd-3.4 ...`); one JSON line per run
 * and a markdown table at the end go to stdout.
 */

import type { ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { loadavg } from 'node:os';
import { promisify } from 'node:util';
import type { BenchCluster, BenchSystem } from './bench-cluster.js';
import {
  assertMembersRunning,
  etcdSystem,
  freeBasePort,
  kvNodeSystem,
  processCosts,
  runCosts,
  startBenchCluster,
  stopEveryCluster,
} from './bench-cluster.js';
import type { LoadProgress } from './bench-load.js';
import { loadKeys } from './bench-load.js';
import { createBenchClient } from './kv-bench.js';
import type { BenchResult } from './kv-bench.js';
import { describeCase, growthTable } from './growth-table.js';
import type { GrowthCase, GrowthRun } from './growth-table.js';
import { kvNodeCli, kvNodeFlags, kvBenchScript as benchScript } from './bench-settings.js';

const quick = process.env.QUICK === '1';
const rounds = Number(process.env.ROUNDS ?? (quick ? 1 : 3));
const secondsPerRun = Number(process.env.SECONDS_PER_RUN ?? (quick ? 2 : 8));
const warmupSeconds = Number(process.env.WARMUP_SECONDS ?? (quick ? 1 : 3));
const clients = Number(process.env.CLIENTS ?? 64);
const rangeClients = Number(process.env.RANGE_CLIENTS ?? 4);
const largeKeys = Number(process.env.LARGE_KEYS ?? (quick ? 50_000 : 1_000_000));
const basePort = process.env.BASE_PORT === undefined ? undefined : Number(process.env.BASE_PORT);
const run = promisify(execFile);
const LOAD_CONCURRENCY = 8;
const SMALL_KEYS = 10_000;

// The same quota for both, above what a case writes (etcd keeps every revision until compacted).
const quotaFlags = ['--quota-backend-bytes', String(8 * 1024 ** 3)];
const systems: BenchSystem[] = [
  kvNodeSystem(kvNodeCli, kvNodeFlags, 'leader', 'memory', quotaFlags),
  etcdSystem(quotaFlags),
];

const count = (value: number): string => value.toLocaleString('en-US');
const keysLabel = (keys: number): string => `${count(keys)} keys`;

const allCases: GrowthCase[] = [
  { name: 'put-3', workload: 'put', members: 3, valueBytes: 100, keys: SMALL_KEYS, clients },
  { name: 'put-5', workload: 'put', members: 5, valueBytes: 100, keys: SMALL_KEYS, clients },
  { name: 'put-4k', workload: 'put', members: 3, valueBytes: 4096, keys: SMALL_KEYS, clients },
  { name: 'put-1m', workload: 'put', members: 3, valueBytes: 100, keys: largeKeys, clients },
  {
    name: 'range-10k',
    workload: 'range-keys',
    members: 3,
    valueBytes: 100,
    keys: SMALL_KEYS,
    clients: rangeClients,
  },
];
const chosen = process.env.CASES?.split(',') ?? allCases.map((growthCase) => growthCase.name);
for (const name of chosen) {
  if (!allCases.some((growthCase) => growthCase.name === name)) {
    throw new Error(`CASES: no case ${name} (${allCases.map((known) => known.name).join(', ')})`);
  }
}
const cases = allCases.filter((growthCase) => chosen.includes(growthCase.name));

// The kv-bench process running now: a signal stops it with the members.
let liveBench: ChildProcess | undefined;

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`${signal}: stopping every member`);
    liveBench?.kill('SIGKILL');
    void stopEveryCluster().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  });
}

/** One kv-bench process against `cluster`, the way every run of `growthCase` is made. */
async function kvBench(
  cluster: BenchCluster,
  growthCase: GrowthCase,
  workload: string,
  benchClients: number,
  seconds: number,
): Promise<BenchResult> {
  const running = run(
    process.execPath,
    [
      benchScript,
      '--endpoints',
      cluster.clientUrls.join(','),
      '--workload',
      workload,
      '--clients',
      String(benchClients),
      '--duration',
      String(seconds),
      '--value-size',
      String(growthCase.valueBytes),
      '--keys',
      String(growthCase.keys),
      // Puts land anywhere in the store (a store of 1,000,000 keys is not a store of the 10,000
      // the keys in turn would touch); the keys are loaded, so reads need no fill.
      '--random-keys',
      '--no-fill',
    ],
    { maxBuffer: 1 << 20 },
  );
  liveBench = running.child;
  try {
    return JSON.parse((await running).stdout) as BenchResult;
  } finally {
    liveBench = undefined;
  }
}

/** A cluster of `system` for `growthCase`, loaded with its keys and warmed up. */
async function prepare(
  system: BenchSystem,
  growthCase: GrowthCase,
  port: number | undefined,
): Promise<BenchCluster> {
  const cluster = await startBenchCluster(
    system,
    port ?? (await freeBasePort(growthCase.members)),
    growthCase.members,
  );
  const started = performance.now();
  console.error(
    `${growthCase.name}: loading ${keysLabel(growthCase.keys)} into ${system.name} ...`,
  );
  const client = createBenchClient([...cluster.clientUrls], 'http', LOAD_CONCURRENCY);
  const progress: LoadProgress = { loaded: 0, stop: false };
  const reporter = setInterval(() => {
    console.error(
      `${growthCase.name}: ${system.name}: loaded ${count(progress.loaded)} of ${keysLabel(growthCase.keys)} ...`,
    );
  }, 10_000);
  try {
    await loadKeys(client, growthCase.keys, growthCase.valueBytes, LOAD_CONCURRENCY, progress);
  } finally {
    clearInterval(reporter);
    client.close();
  }
  const loadSeconds = (performance.now() - started) / 1000;
  console.error(
    `${growthCase.name}: ${system.name} loaded in ${loadSeconds.toFixed(1)} s; warming up ${warmupSeconds} s`,
  );
  // The same warm-up for both (JIT, heap growth, connections): puts and point reads over the
  // loaded keys with the case's value size, so the store keeps its shape.
  await kvBench(cluster, growthCase, 'mixed', clients, warmupSeconds);
  await assertMembersRunning(cluster, `${system.name} load`);
  return cluster;
}

const totalRuns = cases.length * rounds * systems.length;
let runNumber = 0;

async function measure(
  system: BenchSystem,
  cluster: BenchCluster,
  growthCase: GrowthCase,
  round: number,
): Promise<GrowthRun> {
  runNumber += 1;
  console.error(
    `run ${runNumber} of ${totalRuns}: ${describeCase(growthCase)}, on ${system.name} (round ${round}) ...`,
  );
  const before = await processCosts(cluster.children);
  const result = await kvBench(
    cluster,
    growthCase,
    growthCase.workload,
    growthCase.clients,
    secondsPerRun,
  );
  const after = await processCosts(cluster.children);
  await assertMembersRunning(cluster, `${system.name} ${growthCase.name}`);
  const growthRun: GrowthRun = {
    case: growthCase.name,
    system: system.name,
    round,
    members: growthCase.members,
    valueBytes: growthCase.valueBytes,
    keys: growthCase.keys,
    result,
    ...runCosts(before, after, result.requests),
  };
  console.log(JSON.stringify(growthRun));
  return growthRun;
}

async function runCase(growthCase: GrowthCase): Promise<GrowthRun[]> {
  const clusters: BenchCluster[] = [];
  try {
    for (const [index, system] of systems.entries()) {
      clusters.push(
        await prepare(
          system,
          growthCase,
          basePort === undefined ? undefined : basePort + 100 * index,
        ),
      );
    }
    const runs: GrowthRun[] = [];
    for (let round = 1; round <= rounds; round++) {
      // kv-node first in odd rounds, etcd first in even ones: neither always follows the other.
      const order = round % 2 === 1 ? [0, 1] : [1, 0];
      for (const index of order) {
        const system = systems[index] as BenchSystem;
        runs.push(await measure(system, clusters[index] as BenchCluster, growthCase, round));
      }
    }
    return runs;
  } finally {
    for (const cluster of clusters) await cluster.stop(false);
  }
}

const started = performance.now();
const loadAtStart = loadavg().map((value) => value.toFixed(1));
const { stdout: etcdVersion } = await run('etcd', ['--version']);
console.error(
  `bench:growth: ${cases.length} cases x ${rounds} rounds x ${systems.length} systems, ${secondsPerRun} s each${quick ? ' (QUICK)' : ''}; Node ${process.version}, ${etcdVersion.split('\n')[0]}; load average ${loadAtStart.join(' ')}`,
);
const runs: GrowthRun[] = [];
try {
  for (const growthCase of cases) runs.push(...(await runCase(growthCase)));
} finally {
  await stopEveryCluster();
}
const minutes = (performance.now() - started) / 60_000;
console.log(
  `\n${growthTable(cases, runs)}\n\n${rounds} round(s) of ${secondsPerRun} s per case and system; Node ${process.version}; ${etcdVersion.split('\n')[0]}; load average ${loadAtStart.join(' ')} at the start, ${loadavg()
    .map((value) => value.toFixed(1))
    .join(' ')} at the end; ${minutes.toFixed(1)} min in all.`,
);
