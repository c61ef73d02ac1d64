/**
 * kv-node with many keys (issue 25): loads KEYS keys with 100-byte values into 3-member clusters
 * (`bench-cluster.ts`, the same as `bench:etcd`) with txns of 128 puts, the limit etcd 3.4 and
 * kv-node both enforce by default, sent the same way to every system (`PROTOCOL`, the JSON
 * gateway by default, or gRPC). Run `pnpm build` first. Two modes (the first argument):
 *
 * - `large` (`pnpm bench:large`, KEYS=10000000 by default; SYSTEMS defaults to
 *   "kv-node-lmdb,etcd-3.4", one after the other): after the load, each member's peak RSS (the
 *   kernel's VmHWM) and its RSS split into anonymous and file-mapped pages (smaps_rollup), the
 *   data directory's size, random point reads (linearizable and serializable, READ_CLIENTS
 *   clients for READ_SECONDS), then every member restarted in turn (SIGTERM, wait for the exit,
 *   start) timed to `/livez`, `/readyz` and `/health` (kv-node; its info log's "replica
 *   recovered" and first "leader changed" split the time) and to `/health` (etcd), then all three
 *   at once, then memory and reads again.
 * - `lmdb-vs-memory` (`pnpm bench:lmdb-vs-memory`, KEYS=1000000 by default): a memory-backed and
 *   an LMDB-backed kv-node cluster side by side, both loaded, then PUT_ROUNDS rounds of puts at 64
 *   clients over the loaded keys for PUT_SECONDS each, alternating between the two so that both
 *   see the same machine, with the members' CPU per put.
 *
 * Environment: KEYS, SYSTEMS (subset of "kv-node,kv-node-lmdb,etcd-3.4"), PROTOCOL (http |
 * grpc), LOAD_CONCURRENCY (txns in flight during the load, default 8), READ_CLIENTS (default 16),
 * READ_SECONDS (default 10), PUT_ROUNDS (default 3), PUT_SECONDS (default 10), QUOTA_BYTES (both
 * systems' `--quota-backend-bytes`, default 8 GiB: 10,000,000 keys pass the 2 GiB default),
 * MIN_AVAILABLE_MB (the load stops early when the machine's MemAvailable falls under it; default
 * 4096), BASE_PORT (default 45379), BENCH_KV_NODE_CLI (default ../dist/cli.js). Progress goes to stderr
 * ("loading 3,400,000 of 10,000,000 keys ..."); results are JSON lines on stdout.
 */

import { execFile } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { BenchCluster, BenchSystem } from './bench-cluster.js';
import {
  assertMembersRunning,
  etcdSystem,
  kvNodeSystem,
  processCosts,
  startBenchCluster,
} from './bench-cluster.js';
import type { LoadProgress } from './bench-load.js';
import { loadKeys } from './bench-load.js';
import type { BenchProtocol, BenchResult } from './kv-bench.js';
import { benchKey, createBenchClient } from './kv-bench.js';
import { kvNodeCli, kvBenchScript as benchScript } from './bench-settings.js';

const run = promisify(execFile);
const mode = process.argv[2] ?? 'large';
if (mode !== 'large' && mode !== 'lmdb-vs-memory') {
  throw new Error(`mode must be large or lmdb-vs-memory, not ${mode}`);
}
const keysAsked = Number(process.env.KEYS ?? (mode === 'large' ? 10_000_000 : 1_000_000));
/** The keys loaded, which reads pick from: fewer than asked if the memory guard stopped the load. */
let keys = keysAsked;
const minAvailableMb = Number(process.env.MIN_AVAILABLE_MB ?? 4096);
const protocol = (process.env.PROTOCOL ?? 'http') as BenchProtocol;
const loadConcurrency = Number(process.env.LOAD_CONCURRENCY ?? 8);
const readClients = Number(process.env.READ_CLIENTS ?? 16);
const readSeconds = Number(process.env.READ_SECONDS ?? 10);
const putRounds = Number(process.env.PUT_ROUNDS ?? 3);
const putSeconds = Number(process.env.PUT_SECONDS ?? 10);
const basePort = Number(process.env.BASE_PORT ?? 45379);
const quotaFlags = ['--quota-backend-bytes', process.env.QUOTA_BYTES ?? String(8 * 1024 ** 3)];

const VALUE_BYTES = 100;

// kv-node logs at info (a few lines per start, none per request) for `restartPhases`.
const kvNodeFlags = [...quotaFlags, '--log-level', 'info'];
const systems: BenchSystem[] = [
  kvNodeSystem(kvNodeCli, [], 'leader', 'memory', kvNodeFlags),
  kvNodeSystem(kvNodeCli, [], 'leader', 'lmdb', kvNodeFlags),
  etcdSystem(quotaFlags),
];
const chosen = (
  process.env.SYSTEMS ?? (mode === 'large' ? 'kv-node-lmdb,etcd-3.4' : 'kv-node,kv-node-lmdb')
).split(',');

const b64 = (text: string): string => Buffer.from(text).toString('base64');
const count = (value: number): string => value.toLocaleString('en-US');
const megabytes = (kilobytes: number): number => Math.round(kilobytes / 1024);
const sleep = (milliseconds: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, milliseconds));

/** A member's memory in MB: peak and current RSS, and the current RSS by kind of page. */
interface MemberMemory {
  peakRssMb: number;
  rssMb: number;
  anonymousMb: number;
  /** Pages mapped from files (LMDB's file, the node binary): the kernel can reclaim them. */
  fileMb: number;
}

function kilobytesOf(text: string, field: string): number {
  return Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(text)?.[1] ?? Number.NaN);
}

async function memberMemory(child: ChildProcess): Promise<MemberMemory> {
  const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
  const rollup = await readFile(`/proc/${child.pid}/smaps_rollup`, 'utf8');
  const rss = kilobytesOf(rollup, 'Rss');
  const anonymous = kilobytesOf(rollup, 'Anonymous');
  return {
    peakRssMb: megabytes(kilobytesOf(status, 'VmHWM')),
    rssMb: megabytes(kilobytesOf(status, 'VmRSS')),
    anonymousMb: megabytes(anonymous),
    fileMb: megabytes(rss - anonymous),
  };
}

function clusterMemory(cluster: BenchCluster): Promise<MemberMemory[]> {
  return Promise.all(cluster.children.map(memberMemory));
}

async function rssLine(cluster: BenchCluster): Promise<string> {
  try {
    const memory = await clusterMemory(cluster);
    return `RSS ${memory.map((member) => member.rssMb).join(' / ')} MB`;
  } catch {
    return 'RSS unknown';
  }
}

/** The size in MB of each member's data directory. */
async function dataDirMegabytes(cluster: BenchCluster): Promise<number[]> {
  return Promise.all(
    cluster.children.map(async (_, index) => {
      const { stdout } = await run('du', ['-sb', `${cluster.root}/m${index}`]);
      return Math.round(Number(stdout.split('\t')[0]) / 1024 ** 2);
    }),
  );
}

/** The machine's available memory in MB (MemAvailable), or Infinity without /proc. */
async function availableMegabytes(): Promise<number> {
  const meminfo = await readFile('/proc/meminfo', 'utf8').catch(() => '');
  return meminfo === '' ? Infinity : megabytes(kilobytesOf(meminfo, 'MemAvailable'));
}

/**
 * Loads keys 0 to KEYS - 1 with txns of 128 puts, LOAD_CONCURRENCY txns in flight; stops early
 * (and sets `keys` to what was loaded) if the machine's available memory falls under
 * MIN_AVAILABLE_MB: the machine is shared, and a system that grows with its data must not bring
 * it down.
 */
async function load(cluster: BenchCluster, name: string): Promise<Record<string, number>> {
  const client = createBenchClient([...cluster.clientUrls], protocol, loadConcurrency);
  const progress: LoadProgress = { loaded: 0, stop: false };
  const started = performance.now();
  const reporter = setInterval(() => {
    void Promise.all([rssLine(cluster), availableMegabytes()]).then(([rss, available]) => {
      const seconds = (performance.now() - started) / 1000;
      console.error(
        `${name}: loading ${count(progress.loaded)} of ${count(keysAsked)} keys (${count(Math.round(progress.loaded / seconds))} keys/s, ${rss}, ${count(available)} MB available)`,
      );
      if (available < minAvailableMb && !progress.stop) {
        progress.stop = true;
        console.error(`${name}: stopping the load: under ${minAvailableMb} MB available`);
      }
    });
  }, 5000);
  try {
    keys = await loadKeys(client, keysAsked, VALUE_BYTES, loadConcurrency, progress);
  } finally {
    clearInterval(reporter);
    client.close();
  }
  const seconds = (performance.now() - started) / 1000;
  console.error(`${name}: loaded ${count(keys)} keys in ${seconds.toFixed(1)} s`);
  return {
    loadSeconds: Math.round(seconds * 10) / 10,
    keysPerSecond: Math.round(keys / seconds),
    ...(progress.stop ? { stoppedByMemoryGuard: 1, minAvailableMb } : {}),
  };
}

/** Reads 100 random loaded keys and throws if one is missing or has another value. */
async function checkKeys(cluster: BenchCluster): Promise<void> {
  const client = createBenchClient([...cluster.clientUrls], protocol, 1);
  const value = b64('x'.repeat(VALUE_BYTES));
  try {
    for (let probe = 0; probe < 100; probe++) {
      const key = b64(benchKey(Math.floor(Math.random() * keys)));
      const response = await client.post(probe, '/v3/kv/range', JSON.stringify({ key }));
      const found = (JSON.parse(response.body) as { kvs?: { value?: string }[] }).kvs ?? [];
      if (response.status !== 200 || found.length !== 1 || found[0]?.value !== value) {
        throw new Error(`key ${Buffer.from(key, 'base64').toString()}: ${response.body}`);
      }
    }
  } finally {
    client.close();
  }
}

async function kvBench(cluster: BenchCluster, args: string[]): Promise<BenchResult> {
  const { stdout } = await run(
    process.execPath,
    [
      benchScript,
      '--endpoints',
      cluster.clientUrls.join(','),
      '--protocol',
      protocol,
      '--keys',
      String(keys),
      '--value-size',
      String(VALUE_BYTES),
      ...args,
    ],
    { maxBuffer: 1 << 20 },
  );
  return JSON.parse(stdout) as BenchResult;
}

/** Random point reads, linearizable and serializable, at READ_CLIENTS clients. */
async function pointReads(cluster: BenchCluster): Promise<Record<string, unknown>> {
  const results: Record<string, unknown> = {};
  for (const workload of ['range', 'range-serializable']) {
    const result = await kvBench(cluster, [
      '--workload',
      workload,
      '--random-keys',
      '--no-fill',
      '--clients',
      String(readClients),
      '--duration',
      String(readSeconds),
    ]);
    results[workload] = {
      clients: result.clients,
      throughput: result.throughput,
      errors: result.errors,
      latencyMs: result.latencyMs,
    };
  }
  return results;
}

/**
 * Polls `url` every 10 ms until it answers 200 and returns the milliseconds since `since`; throws
 * if `child` exits first or after five minutes.
 */
async function timeUntilOk(url: string, child: ChildProcess, since: number): Promise<number> {
  while (performance.now() - since < 300_000) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the member exited (${child.exitCode ?? child.signalCode}) before ${url}`);
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await response.arrayBuffer();
      if (response.status === 200) return Math.round(performance.now() - since);
    } catch {
      // not listening yet
    }
    await sleep(10);
  }
  throw new Error(`${url} not ready after 300 s`);
}

/**
 * Where a kv-node member's restart went, from its info log (milliseconds after `sinceWallMs`):
 * `recoveredMs` when the store was open and the log replayed, `leaderKnownMs` when it heard of a
 * leader.
 */
async function restartPhases(
  cluster: BenchCluster,
  index: number,
  sinceWallMs: number,
): Promise<{ recoveredMs?: number; leaderKnownMs?: number }> {
  const log = await readFile(`${cluster.root}/m${index}.log`, 'utf8').catch(() => '');
  const phases: { recoveredMs?: number; leaderKnownMs?: number } = {};
  for (const line of log.split('\n')) {
    if (!line.startsWith('{')) continue;
    const entry = JSON.parse(line) as { time?: string; msg?: string; leader?: unknown };
    const at = Math.round(Date.parse(entry.time ?? '') - sinceWallMs);
    if (!(at >= 0)) continue;
    if (entry.msg === 'replica recovered') phases.recoveredMs ??= at;
    if (entry.msg === 'leader changed' && entry.leader !== null) phases.leaderKnownMs ??= at;
  }
  return phases;
}

/**
 * kv-node is serving HTTP at `/livez` (before it opens its store), ready at `/readyz` (it knows a
 * leader), healthy at `/health`; etcd 3.4 has only `/health`.
 */
async function timeToReady(
  system: BenchSystem,
  cluster: BenchCluster,
  index: number,
  child: ChildProcess,
  since: number,
): Promise<Record<string, number>> {
  const sinceWallMs = Date.now() - (performance.now() - since);
  const url = cluster.clientUrls[index] as string;
  if (system.name === 'etcd-3.4')
    return { healthMs: await timeUntilOk(`${url}/health`, child, since) };
  const livezMs = await timeUntilOk(`${url}/livez`, child, since);
  const readyzMs = await timeUntilOk(`${url}/readyz`, child, since);
  const readMbAtReady = await megabytesRead(child);
  const healthMs = await timeUntilOk(`${url}/health`, child, since);
  return {
    livezMs,
    ...(await restartPhases(cluster, index, sinceWallMs)),
    readyzMs,
    readMbAtReady,
    healthMs,
  };
}

/**
 * Bytes the process has read through read calls so far (`rchar` in `/proc/<pid>/io`: files,
 * sockets and pipes, not pages of a memory map such as LMDB's), in MB: at `/readyz`, mostly the
 * log recovery read.
 */
async function megabytesRead(child: ChildProcess): Promise<number> {
  const io = await readFile(`/proc/${child.pid}/io`, 'utf8');
  return megabytes(Number(/^rchar: (\d+)$/m.exec(io)?.[1] ?? Number.NaN) / 1024);
}

/** Each member in turn: SIGTERM, wait for its exit, start it, time it to ready. */
async function rollingRestart(
  system: BenchSystem,
  cluster: BenchCluster,
): Promise<Record<string, number>[]> {
  const members = [];
  for (const index of [0, 1, 2]) {
    const stopping = performance.now();
    await cluster.stopMember(index);
    const stopMs = Math.round(performance.now() - stopping);
    const starting = performance.now();
    const child = cluster.startMember(index);
    const ready = await timeToReady(system, cluster, index, child, starting);
    console.error(
      `${system.name}: m${index} restarted: stop ${stopMs} ms, ${JSON.stringify(ready)}`,
    );
    members.push({ member: index, stopMs, ...ready });
  }
  return members;
}

/** All three members stopped together, then started together, each timed to ready. */
async function fullRestart(
  system: BenchSystem,
  cluster: BenchCluster,
): Promise<Record<string, number>[]> {
  const stopping = performance.now();
  await Promise.all([0, 1, 2].map((index) => cluster.stopMember(index)));
  const stopMs = Math.round(performance.now() - stopping);
  const starting = performance.now();
  const children = [0, 1, 2].map((index) => cluster.startMember(index));
  const members = await Promise.all(
    children.map(async (child, index) => ({
      member: index,
      stopMs,
      ...(await timeToReady(system, cluster, index, child, starting)),
    })),
  );
  console.error(`${system.name}: all restarted at once: ${JSON.stringify(members)}`);
  return members;
}

function report(system: BenchSystem, phase: string, figures: Record<string, unknown>): void {
  console.log(
    JSON.stringify({ system: system.name, phase, keys, keysAsked, protocol, ...figures }),
  );
}

async function startLoaded(system: BenchSystem, port: number): Promise<BenchCluster> {
  const cluster = await startBenchCluster(system, port);
  try {
    const loading = await load(cluster, system.name);
    await assertMembersRunning(cluster, `${system.name} load`);
    await checkKeys(cluster);
    report(system, 'load', {
      ...loading,
      memory: await clusterMemory(cluster),
      dataDirMb: await dataDirMegabytes(cluster),
    });
    return cluster;
  } catch (error) {
    await cluster.stop(false);
    throw error;
  }
}

async function large(system: BenchSystem, port: number): Promise<void> {
  const cluster = await startLoaded(system, port);
  try {
    const reads = await pointReads(cluster);
    report(system, 'reads', { ...reads, memory: await clusterMemory(cluster) });
    const rolling = await rollingRestart(system, cluster);
    await checkKeys(cluster);
    report(system, 'rolling-restart', { members: rolling, memory: await clusterMemory(cluster) });
    const all = await fullRestart(system, cluster);
    await checkKeys(cluster);
    const readsAfter = await pointReads(cluster);
    report(system, 'full-restart', {
      members: all,
      reads: readsAfter,
      memory: await clusterMemory(cluster),
    });
    await assertMembersRunning(cluster, `${system.name} reads`);
  } finally {
    await cluster.stop(false);
  }
}

/** One put run at 64 clients over the loaded keys, with the members' CPU per put. */
async function putRound(system: BenchSystem, cluster: BenchCluster, round: number): Promise<void> {
  const before = await processCosts(cluster.children);
  const result = await kvBench(cluster, [
    '--workload',
    'put',
    '--clients',
    '64',
    '--duration',
    String(putSeconds),
  ]);
  const after = await processCosts(cluster.children);
  const cpuMsPerPut =
    before === undefined || after === undefined || result.requests === 0
      ? undefined
      : Math.round((1e6 * (after.cpuSeconds - before.cpuSeconds)) / result.requests) / 1000;
  console.error(`${system.name}: put round ${round}: ${count(result.throughput)} puts/s`);
  report(system, 'put', {
    round,
    clients: result.clients,
    throughput: result.throughput,
    errors: result.errors,
    latencyMs: result.latencyMs,
    cpuMsPerPut,
  });
}

async function lmdbVersusMemory(chosenSystems: BenchSystem[]): Promise<void> {
  const clusters: BenchCluster[] = [];
  try {
    for (const [index, system] of chosenSystems.entries()) {
      clusters.push(await startLoaded(system, basePort + 100 * index));
    }
    for (let round = 1; round <= putRounds; round++) {
      for (const [index, system] of chosenSystems.entries()) {
        await putRound(system, clusters[index] as BenchCluster, round);
      }
    }
    for (const [index, system] of chosenSystems.entries()) {
      const cluster = clusters[index] as BenchCluster;
      await assertMembersRunning(cluster, `${system.name} puts`);
      report(system, 'after-puts', { memory: await clusterMemory(cluster) });
    }
  } finally {
    for (const cluster of clusters) await cluster.stop(false);
  }
}

const chosenSystems = systems.filter((system) => chosen.includes(system.name));
if (mode === 'large') {
  for (const system of chosenSystems) await large(system, basePort);
} else {
  await lmdbVersusMemory(chosenSystems);
}
