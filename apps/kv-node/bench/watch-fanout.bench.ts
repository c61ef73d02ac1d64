/**
 * Watch fan-out end to end, kv-node against etcd 3.4's JSON gateway on the same harness (run
 * `pnpm build` first; needs `etcd` on the PATH): each system as 3 members on loopback (see
 * `bench-cluster.ts`), 64 clients putting 100-byte values to keys of one prefix for
 * SECONDS_PER_RUN seconds (default 10), first with no watcher, then while WATCHERS watchers
 * (default 1,000) watch that prefix through etcd gateway streams (`POST /v3/watch`, one stream
 * and connection per watcher, round-robin over the members, in WATCHER_PROCESSES child
 * processes, default 2). After the putting stops, every watcher must get every put (counted per
 * watcher); the put-to-event latency runs from the put's send time (carried in its value) to
 * the event's arrival at a watcher. Output: one JSON object per system.
 *
 * Environment: KEEP_REQUEST_OPEN=1 (keep each watch's request body open after its create request,
 * as a client that may send cancel requests on the stream does; default: end it), SECONDS_PER_RUN, WATCHERS, WATCHER_PROCESSES, CLIENTS (default 64), SYSTEMS
 * (comma-separated subset of "kv-node,etcd-3.4"), WARMUP_SECONDS (default 5), BASE_PORT (default
 * 43379), BENCH_KV_NODE_CLI, BENCH_KV_NODE_FLAGS (node flags for the kv-node members, e.g.
 * "--cpu-prof --cpu-prof-dir=/tmp/prof"; they are then stopped with SIGTERM so profiles get
 * written). Run with `pnpm bench:watch-fanout`.
 */

import type { ChildProcess } from 'node:child_process';
import { fork } from 'node:child_process';
import { Agent, request } from 'node:http';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { BenchCluster } from './bench-cluster.js';
import { benchSystems, processCosts, startBenchCluster } from './bench-cluster.js';
import { kvNodeCli, kvNodeFlags } from './bench-settings.js';

const seconds = Number(process.env.SECONDS_PER_RUN ?? 10);
const watcherCount = Number(process.env.WATCHERS ?? 1000);
const watcherProcesses = Number(process.env.WATCHER_PROCESSES ?? 2);
const clients = Number(process.env.CLIENTS ?? 64);
const prefix = 'w/';
const watcherScript = fileURLToPath(new URL('./watch-fanout-watchers.js', import.meta.url));
const wallNow = (): number => performance.timeOrigin + performance.now();

interface PutRun {
  puts: number;
  errors: number;
  putsPerSecond: number;
  putLatencyMs: { p50: number; p99: number };
  /** The store revision after the last acknowledged put. */
  lastRevision: number;
  memberCpuSeconds?: number;
  /** Write syscalls of all members (`/proc/<pid>/io` syscw) per acknowledged put. */
  memberWriteSyscallsPerPut?: number;
}

function post(agent: Agent, url: string, body: string): Promise<{ revision: number }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { method: 'POST', agent }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        if (response.statusCode !== 200) {
          reject(new Error(`HTTP ${response.statusCode ?? 0}`));
          return;
        }
        const parsed = JSON.parse(Buffer.concat(chunks).toString()) as {
          header?: { revision?: string };
        };
        resolve({ revision: Number(parsed.header?.revision ?? 0) });
      });
    });
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

const percentileOf = (sorted: number[], p: number): number =>
  sorted.length === 0
    ? 0
    : (sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number);

/** CLIENTS closed-loop putters for `durationS`, each on its own key, over the members. */
async function putFor(cluster: BenchCluster, durationS: number): Promise<PutRun> {
  const agents = cluster.clientUrls.map(
    () => new Agent({ keepAlive: true, maxSockets: clients, maxFreeSockets: clients }),
  );
  const latencies: number[] = [];
  let errors = 0;
  let lastRevision = 0;
  const costsBefore = await processCosts(cluster.children);
  const started = performance.now();
  const until = started + durationS * 1000;
  await Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      const member = client % cluster.clientUrls.length;
      const url = `${cluster.clientUrls[member] as string}/v3/kv/put`;
      const key = Buffer.from(`${prefix}${client}`).toString('base64');
      while (performance.now() < until) {
        const sentAt = wallNow();
        // The value carries its send time for the watchers' latency (100 bytes in all).
        const value = Buffer.from(sentAt.toFixed(3).padEnd(100, '.')).toString('base64');
        const sent = performance.now();
        try {
          const { revision } = await post(
            agents[member] as Agent,
            url,
            JSON.stringify({ key, value }),
          );
          latencies.push(performance.now() - sent);
          lastRevision = Math.max(lastRevision, revision);
        } catch {
          errors++;
        }
      }
    }),
  );
  const elapsedS = (performance.now() - started) / 1000;
  const costsAfter = await processCosts(cluster.children);
  for (const agent of agents) agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    puts: latencies.length,
    errors,
    putsPerSecond: Math.round(latencies.length / elapsedS),
    putLatencyMs: {
      p50: Math.round(100 * percentileOf(latencies, 50)) / 100,
      p99: Math.round(100 * percentileOf(latencies, 99)) / 100,
    },
    lastRevision,
    ...(costsBefore === undefined || costsAfter === undefined
      ? {}
      : {
          memberCpuSeconds:
            Math.round(100 * (costsAfter.cpuSeconds - costsBefore.cpuSeconds)) / 100,
          // Each write to a socket is a syscall: what batching the watch streams' writes saves
          // shows here whatever the machine's load.
          memberWriteSyscallsPerPut:
            Math.round(
              (10 * (costsAfter.writeSyscalls - costsBefore.writeSyscalls)) /
                Math.max(1, latencies.length),
            ) / 10,
        }),
  };
}

interface WatcherReport {
  counts: number[];
  buckets: [number, number][];
  bucketMs: number;
  failures: string[];
  failureCount: number;
}

function nextMessage<T>(child: ChildProcess): Promise<T> {
  return new Promise((resolve, reject) => {
    child.once('message', (message) => resolve(message as T));
    child.once('exit', (code) => reject(new Error(`watcher process exited with ${code}`)));
  });
}

async function watchedRun(cluster: BenchCluster, startRevision: number) {
  const perProcess = Math.ceil(watcherCount / watcherProcesses);
  const children = Array.from({ length: watcherProcesses }, (_, index) =>
    fork(watcherScript, [], {
      env: {
        ...process.env,
        // Each process starts at another member, so the watchers spread evenly.
        ENDPOINTS: [...cluster.clientUrls.slice(index), ...cluster.clientUrls.slice(0, index)].join(
          ',',
        ),
        WATCHERS: String(Math.min(perProcess, watcherCount - index * perProcess)),
        PREFIX: prefix,
        START_REVISION: String(startRevision),
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  try {
    const ready = await Promise.all(
      children.map((child) => nextMessage<{ ready: number; failures: string[] }>(child)),
    );
    const created = ready.reduce((sum, report) => sum + report.ready, 0);
    const watcherCostsBefore = await processCosts(children);
    const ownCpuBefore = process.cpuUsage();
    const put = await putFor(cluster, seconds);
    const ownCpu = process.cpuUsage(ownCpuBefore);
    const watcherCostsAfter = await processCosts(children);
    const drainStarted = performance.now();
    const reports = await Promise.all(
      children.map((child) => {
        const report = nextMessage<WatcherReport>(child);
        child.send({ drain: put.puts });
        return report;
      }),
    );
    const drainSeconds = (performance.now() - drainStarted) / 1000;
    const counts = reports.flatMap((report) => report.counts);
    // Watcher i of process p watches on member (i + p) mod 3 (each process's list is rotated).
    const incompleteByMember = cluster.clientUrls.map(() => 0);
    for (const [processIndex, report] of reports.entries()) {
      for (const [watcher, count] of report.counts.entries()) {
        const member = (watcher + processIndex) % cluster.clientUrls.length;
        if (count < put.puts) incompleteByMember[member] = (incompleteByMember[member] ?? 0) + 1;
      }
    }
    const histogram = new Map<number, number>();
    for (const report of reports) {
      for (const [bucket, count] of report.buckets) {
        histogram.set(bucket, (histogram.get(bucket) ?? 0) + count);
      }
    }
    const delivered = counts.reduce((sum, count) => sum + count, 0);
    const latency = (p: number): number => {
      const target = (p / 100) * delivered;
      let seen = 0;
      for (const bucket of [...histogram.keys()].sort((a, b) => a - b)) {
        seen += histogram.get(bucket) ?? 0;
        if (seen >= target) return Math.round(bucket * (reports[0]?.bucketMs ?? 0.1) * 10) / 10;
      }
      return Number.NaN;
    };
    return {
      watchersCreated: created,
      put,
      expectedEventsPerWatcher: put.puts,
      watchersWithEveryEvent: counts.filter((count) => count === put.puts).length,
      eventsPerWatcher: { min: Math.min(...counts), max: Math.max(...counts) },
      watchersShortOfEveryEventByMember: incompleteByMember,
      eventsDelivered: delivered,
      eventsExpected: put.puts * counts.length,
      secondsToDrainAfterPutsStopped: Math.round(drainSeconds * 10) / 10,
      putToEventLatencyMs: { p50: latency(50), p99: latency(99), max: latency(100) },
      // Where the machine's CPU went while putting: the members are in `put.memberCpuSeconds`.
      watcherProcessCpuSeconds:
        watcherCostsBefore === undefined || watcherCostsAfter === undefined
          ? undefined
          : Math.round(100 * (watcherCostsAfter.cpuSeconds - watcherCostsBefore.cpuSeconds)) / 100,
      putterCpuSeconds: Math.round((ownCpu.user + ownCpu.system) / 1e4) / 100,
      watcherStreamsBroken: reports.reduce((sum, report) => sum + report.failureCount, 0),
      watcherFailures: reports.flatMap((report) => report.failures).slice(0, 3),
    };
  } finally {
    for (const child of children) child.kill('SIGKILL');
  }
}

const only = process.env.SYSTEMS?.split(',');
for (const system of benchSystems(kvNodeCli, kvNodeFlags).filter(
  (candidate) => only === undefined || only.includes(candidate.name),
)) {
  const cluster = await startBenchCluster(system, Number(process.env.BASE_PORT ?? 43379));
  try {
    const loadBefore = loadavg()[0] as number;
    // Warm-up (JIT, heap, connections), not reported.
    await putFor(cluster, Number(process.env.WARMUP_SECONDS ?? 5));
    const ownCpuBefore = process.cpuUsage();
    const withoutWatchers = await putFor(cluster, seconds);
    const ownCpu = process.cpuUsage(ownCpuBefore);
    const watched = await watchedRun(cluster, withoutWatchers.lastRevision + 1);
    const ratio = watched.put.putsPerSecond / withoutWatchers.putsPerSecond;
    console.log(
      JSON.stringify({
        system: system.name,
        node: process.version,
        loadAverage1mBefore: Math.round(loadBefore * 100) / 100,
        loadAverage1mAfter: Math.round((loadavg()[0] as number) * 100) / 100,
        clients,
        watchers: watcherCount,
        secondsPerRun: seconds,
        withoutWatchers: {
          ...withoutWatchers,
          putterCpuSeconds: Math.round((ownCpu.user + ownCpu.system) / 1e4) / 100,
        },
        ...watched,
        throughputWithWatchersRatio: Math.round(ratio * 1000) / 1000,
      }),
    );
  } finally {
    await cluster.stop(system.name === 'kv-node' && kvNodeFlags.length > 0);
  }
}
