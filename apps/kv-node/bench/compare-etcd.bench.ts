/**
 * kv-node against etcd 3.4 on the same machine, one after the other, with the same kv-bench
 * workloads over the v3 JSON API or gRPC (run `pnpm build` first; needs `etcd` on the PATH, e.g. Debian's
 * etcd-server). Each system runs as 3 members on loopback. Output: one JSON object per run.
 *
 * Environment: SECONDS_PER_RUN (default 10), PROTOCOL (http, the JSON gateway, by default; grpc
 * for etcd's gRPC API through grpc-js), WORKLOADS (comma-separated "workload:clients"),
 * SYSTEMS (comma-separated subset of "kv-node,etcd-3.4,kv-node-lmdb"; default the first two), WARMUP_SECONDS (default 5, a mixed run
 * that is not reported), BASE_PORT (default 42379; members use BASE_PORT + 10 * i and + 1),
 * BENCH_KV_NODE_CLI (the kv-node entry point; default ../dist/cli.js), BENCH_KV_NODE_FLAGS (node flags for
 * the kv-node members, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"; members are then stopped with
 * SIGTERM so that profiles get written).
 *
 * Each run also reports the CPU time the three members used during it (`memberCpuSeconds`, from
 * /proc on Linux), `cpuMsPerRequest` and `writeSyscallsPerRequest` (the members' write, writev
 * and pwrite calls: socket writes wake the peer that reads them): on a busy machine throughput
 * swings with other load, while these costs per request stay comparable between paired runs.
 */

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  benchSystems,
  kvNodeSystem,
  processCosts,
  runCosts,
  startBenchCluster,
} from './bench-cluster.js';
import { kvNodeCli, kvNodeFlags, kvBenchScript as benchScript } from './bench-settings.js';

const run = promisify(execFile);
const seconds = process.env.SECONDS_PER_RUN ?? '10';
const workloads = (
  process.env.WORKLOADS ?? 'put:64,put:1,range:64,range-serializable:64,txn-cas:64'
)
  .split(',')
  .map((item) => {
    const [workload, clients] = item.split(':');
    return { workload: workload as string, clients: Number(clients) };
  });

// kv-node on LMDB runs only when SYSTEMS names it (kv-node-lmdb).
const systems = [
  ...benchSystems(kvNodeCli, kvNodeFlags),
  kvNodeSystem(kvNodeCli, kvNodeFlags, 'leader', 'lmdb'),
];

const only = process.env.SYSTEMS?.split(',') ?? ['kv-node', 'etcd-3.4'];
for (const system of systems.filter((candidate) => only.includes(candidate.name))) {
  const cluster = await startBenchCluster(system, Number(process.env.BASE_PORT ?? 42379));
  const children = cluster.children;
  const endpoints = cluster.clientUrls.join(',');
  try {
    // The same warm-up for both systems (JIT, heap growth, connections), not measured, over
    // the protocol the runs use: a gRPC run after an HTTP warm-up met a cold gRPC path.
    await run(process.execPath, [
      benchScript,
      '--endpoints',
      endpoints,
      '--workload',
      'mixed',
      '--clients',
      '64',
      '--duration',
      process.env.WARMUP_SECONDS ?? '5',
      '--protocol',
      process.env.PROTOCOL ?? 'http',
    ]);
    for (const { workload, clients } of workloads) {
      const costsBefore = await processCosts(children);
      const { stdout } = await run(process.execPath, [
        benchScript,
        '--endpoints',
        endpoints,
        '--workload',
        workload,
        '--clients',
        String(clients),
        '--duration',
        seconds,
        '--value-size',
        '100',
        '--protocol',
        process.env.PROTOCOL ?? 'http',
      ]);
      const costsAfter = await processCosts(children);
      const result = JSON.parse(stdout) as { requests: number };
      const costs = runCosts(costsBefore, costsAfter, result.requests) ?? {};
      console.log(JSON.stringify({ system: system.name, ...result, ...costs }));
    }
  } finally {
    // A SIGKILLed process writes no profile: stop gracefully when profiling.
    await cluster.stop(system.name !== 'etcd-3.4' && kvNodeFlags.length > 0);
  }
}
