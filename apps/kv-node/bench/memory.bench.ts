/**
 * Memory and restart benchmark of a real 3-member cluster (run `pnpm build` first), measuring what
 * the acceptance criteria say: 1,000,000 keys of 100-byte values under 400 MB RSS per member, and
 * restart to ready with a snapshot and a 100,000-entry log tail under 5 s.
 *
 * 1. Loads KEYS keys (default 1,000,000) as transactions of TXN_PUTS puts (default 10), so that with
 *    --snapshot-count SNAPSHOT_COUNT (default 100,000) a snapshot falls near the end of the load.
 * 2. Overwrites keys with single puts until the log tail after the latest snapshot (applied index
 *    minus snapshot index, `snapshot_index` in /v1/cluster) is TAIL entries (default SNAPSHOT_COUNT - 1,000, so
 *    that no further snapshot is taken).
 * 3. SIGKILLs every member, restarts them, and measures per member the time until /readyz answers
 *    200 (recovered, knows a leader) and until it serves a linearizable read of the last key.
 *
 * Environment: KEYS, TXN_PUTS, SNAPSHOT_COUNT, TAIL, CLIENTS (default 32), BASE_PORT (default
 * 32379), BENCH_KV_NODE_CLI (default ../dist/cli.js), BENCH_RESTART_FLAGS (node flags for the
 * restarted members, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"; they are then stopped with
 * SIGTERM so that profiles get written), BENCH_KV_NODE_FLAGS (node flags for every member). Output: one JSON object on stdout; progress on stderr.
 *
 * Beside RSS (split into anonymous and file-backed), each point records every member's V8 heap
 * (used and total), external memory and the used size of each V8 space from `/metrics`
 * (prom-client's default process metrics), in MB, so that RSS can be explained: RSS ≈ heap total
 * + external (buffers) + code and native allocations. During the load every member's RSS is
 * sampled every 250 ms (`rssDuringLoad`: the highest reading and when it was).
 */

import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { kvNodeCli as cli, kvNodeFlags as memberFlags } from './bench-settings.js';

const keyCount = Number(process.env.KEYS ?? 1_000_000);
const putsPerTxn = Number(process.env.TXN_PUTS ?? 10);
const snapshotCount = Number(process.env.SNAPSHOT_COUNT ?? 100_000);
const targetTail = Number(process.env.TAIL ?? snapshotCount - 1000);
const clients = Number(process.env.CLIENTS ?? 32);
const basePort = Number(process.env.BASE_PORT ?? 32379);
const root = await mkdtemp(`${tmpdir()}/kv-memory-`);
// Members share a random peer secret (kv-node never derives one).
await writeFile(`${root}/peer-secret`, 'memory-bench-peer-secret-0123456789\n', { mode: 0o600 });
const names = ['m1', 'm2', 'm3'];
const clientUrl = (index: number): string => `http://127.0.0.1:${basePort + 10 * index}`;
const peerUrl = (index: number): string => `http://127.0.0.1:${basePort + 10 * index + 1}`;
const initialCluster = names.map((name, index) => `${name}=${peerUrl(index)}`).join(',');
const restartFlags = [
  ...memberFlags,
  ...(process.env.BENCH_RESTART_FLAGS ?? '').split(' ').filter((flag) => flag !== ''),
];
const agent = new Agent({ keepAlive: true, maxSockets: clients });

function progress(message: string): void {
  process.stderr.write(`memory.bench: ${message}\n`);
}

function start(index: number, flags: readonly string[] = []): ChildProcess {
  return spawn(
    process.execPath,
    [
      ...flags,
      cli,
      '--name',
      names[index] as string,
      '--data-dir',
      `${root}/${names[index]}`,
      '--listen-client-urls',
      clientUrl(index),
      '--listen-peer-urls',
      peerUrl(index),
      '--initial-cluster',
      initialCluster,
      '--peer-secret-file',
      `${root}/peer-secret`,
      '--snapshot-count',
      String(snapshotCount),
      '--log-level',
      'warn',
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
}

function call(
  method: string,
  url: string,
  body?: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const outgoing = request(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname + target.search,
        method,
        agent,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString() }),
        );
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

const post = (url: string, body: string): Promise<{ status: number; text: string }> =>
  call('POST', url, body);

/** POSTs until the answer is 200 (a member may be electing or catching up). */
async function postUntilOk(url: string, body: string): Promise<void> {
  for (;;) {
    const response = await post(url, body).catch(() => undefined);
    if (response?.status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function waitFor(predicate: () => Promise<boolean>): Promise<void> {
  for (;;) {
    if (await predicate().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function serves(index: number, key: string): Promise<boolean> {
  const response = await post(
    `${clientUrl(index)}/v3/kv/range`,
    JSON.stringify({ key, count_only: true }),
  );
  return response.status === 200 && response.text.includes('"count":"1"');
}

async function ready(index: number): Promise<boolean> {
  return (await call('GET', `${clientUrl(index)}/readyz`)).status === 200;
}

interface ClusterView {
  applied_index: number;
  snapshot_index?: number;
}

/**
 * Entries after the latest snapshot on member `index`: applied index minus snapshot index. A
 * build without the `snapshot_index` field counts from the last multiple of the snapshot count.
 */
async function tailLength(index: number): Promise<{ applied: number; tail: number }> {
  const view = JSON.parse(
    (await call('GET', `${clientUrl(index)}/v1/cluster`)).text,
  ) as ClusterView;
  const applied = view.applied_index;
  const snapshotIndex = view.snapshot_index ?? Math.floor(applied / snapshotCount) * snapshotCount;
  return { applied, tail: applied - snapshotIndex };
}

async function rssMegabytes(child: ChildProcess, field = 'VmRSS'): Promise<number> {
  const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
  const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(status);
  return Math.round(Number(match?.[1] ?? 0) / 102.4) / 10;
}

/** The highest RSS each member has had since it started (the kernel's VmHWM). */
const peakRssOfAll = (): Promise<number[]> =>
  Promise.all(children.map((child) => rssMegabytes(child, 'VmHWM')));

/** Idle time after the load before the settled reading: V8 shrinks an idle heap after 8 s. */
const SETTLE_MS = 12_000;

/** Memory of one member in MB, from its Prometheus metrics (heap, external) and /proc (RSS). */
interface MemoryBreakdown {
  rss: number;
  /** Anonymous resident memory (heap, buffers, malloc) and file-backed (code, mapped files). */
  rssAnon: number;
  rssFile: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  /** Used bytes of each V8 space with any in use (old, new, large_object, code, ...). */
  spacesUsed: Record<string, number>;
}

function metricMegabytes(text: string, name: string): number {
  const line = text.split('\n').find((candidate) => candidate.startsWith(name));
  const bytes = Number(line?.slice(line.lastIndexOf(' ') + 1) ?? NaN);
  return Math.round(bytes / 104857.6) / 10;
}

async function memoryOf(index: number): Promise<MemoryBreakdown> {
  const child = children[index] as ChildProcess;
  const text = (await call('GET', `${clientUrl(index)}/metrics`)).text;
  const spacesUsed: Record<string, number> = {};
  for (const match of text.matchAll(/^nodejs_heap_space_size_used_bytes\{space="(\w+)"\} /gm)) {
    const used = metricMegabytes(text, match[0]);
    if (used > 0) spacesUsed[match[1] as string] = used;
  }
  return {
    rss: await rssMegabytes(child),
    rssAnon: await rssMegabytes(child, 'RssAnon'),
    rssFile: await rssMegabytes(child, 'RssFile'),
    heapUsed: metricMegabytes(text, 'nodejs_heap_size_used_bytes '),
    heapTotal: metricMegabytes(text, 'nodejs_heap_size_total_bytes '),
    external: metricMegabytes(text, 'nodejs_external_memory_bytes '),
    spacesUsed,
  };
}

const memoryOfAll = (): Promise<MemoryBreakdown[]> =>
  Promise.all(names.map((_, index) => memoryOf(index)));

/**
 * Samples every member's RSS every 250 ms until stopped: the highest reading of each and when
 * it was (seconds since `since`), to tell a peak while loading (a snapshot taken then, heap
 * growth) from the steady state.
 */
function sampleRss(since: number): {
  stop: () => { peakMB: number[]; atSeconds: number[] };
} {
  const peakMB = names.map(() => 0);
  const atSeconds = names.map(() => 0);
  const timer = setInterval(() => {
    children.forEach((child, index) => {
      void rssMegabytes(child)
        .then((rss) => {
          if (rss > (peakMB[index] as number)) {
            peakMB[index] = rss;
            atSeconds[index] = seconds(since);
          }
        })
        .catch(() => undefined);
    });
  }, 250);
  return {
    stop: () => {
      clearInterval(timer);
      return { peakMB, atSeconds };
    },
  };
}

/** Runs `work(i)` for i in [0, count) on `clients` concurrent workers. */
async function concurrently(count: number, work: (item: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < count) await work(next++);
    }),
  );
}

/** SIGTERM and wait, so that profiling members write their profiles. */
async function stopGracefully(): Promise<void> {
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          const force = setTimeout(() => child.kill('SIGKILL'), 15_000);
          child.once('exit', () => {
            clearTimeout(force);
            resolve();
          });
          child.kill('SIGTERM');
        }),
    ),
  );
}

const seconds = (since: number): number => Math.round((performance.now() - since) / 10) / 100;
const b64 = (text: string): string => Buffer.from(text).toString('base64');
const keyOf = (index: number): string => b64(`key/${String(index).padStart(12, '0')}`);
const value = b64('v'.repeat(100));
let children = names.map((_, index) => start(index, memberFlags));
const killAll = (): void => {
  for (const child of children) child.kill('SIGKILL');
};
process.once('SIGTERM', () => {
  killAll();
  process.exit(1);
});
process.once('SIGINT', () => {
  killAll();
  process.exit(1);
});
try {
  const lastKey = keyOf(keyCount - 1);
  // Wait for a leader: a write succeeds.
  await postUntilOk(`${clientUrl(0)}/v3/kv/put`, JSON.stringify({ key: keyOf(0), value }));
  const loadStarted = performance.now();
  const sampler = sampleRss(loadStarted);
  const txns = Math.ceil(keyCount / putsPerTxn);
  await concurrently(txns, async (txn) => {
    const success = [];
    const first = txn * putsPerTxn;
    for (let index = first; index < Math.min(first + putsPerTxn, keyCount); index++) {
      success.push({ request_put: { key: keyOf(index), value } });
    }
    await postUntilOk(`${clientUrl(txn % 3)}/v3/kv/txn`, JSON.stringify({ success }));
  });
  const loadSeconds = seconds(loadStarted);
  const rssDuringLoad = sampler.stop();
  progress(`loaded ${keyCount} keys in ${txns} txns in ${loadSeconds} s`);
  await Promise.all(names.map((_, index) => waitFor(() => serves(index, lastKey))));
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const memoryAfterLoad = await memoryOfAll();
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  const memorySettledAfterLoad = await memoryOfAll();

  const tailStarted = performance.now();
  const { tail: tailSoFar } = await tailLength(0);
  const tailPuts = Math.max(0, targetTail - tailSoFar);
  await concurrently(tailPuts, async (put) => {
    await postUntilOk(
      `${clientUrl(put % 3)}/v3/kv/put`,
      JSON.stringify({ key: keyOf(put % keyCount), value }),
    );
  });
  const tailSeconds = seconds(tailStarted);
  progress(`wrote ${tailPuts} single puts in ${tailSeconds} s`);
  // Every member has applied the last put: a linearizable read on each.
  await Promise.all(names.map((_, index) => waitFor(() => serves(index, lastKey))));
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const memoryAfterTail = await memoryOfAll();
  const peakRssBeforeRestart = await peakRssOfAll();
  const logTail = await Promise.all(names.map((_, index) => tailLength(index)));
  progress(`log tails ${logTail.map((member) => member.tail).join(', ')}; restarting`);

  for (const child of children) child.kill('SIGKILL');
  await Promise.all(
    children.map(
      (child) =>
        new Promise((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) resolve(undefined);
          else child.once('exit', resolve);
        }),
    ),
  );
  const restartStarted = performance.now();
  children = names.map((_, index) => start(index, restartFlags));
  const readySeconds: number[] = [];
  const servingSeconds: number[] = [];
  await Promise.all(
    names.map(async (_, index) => {
      await waitFor(() => ready(index));
      readySeconds[index] = seconds(restartStarted);
      await waitFor(() => serves(index, lastKey));
      servingSeconds[index] = seconds(restartStarted);
    }),
  );
  const memoryAfterRestart = await memoryOfAll();
  const peakRssOfRestart = await peakRssOfAll();
  const rss = (memory: MemoryBreakdown[]): number[] => memory.map((member) => member.rss);
  console.log(
    JSON.stringify({
      benchmark: 'kv-node-memory-restart',
      keys: keyCount,
      valueBytes: 100,
      putsPerTxn,
      snapshotCount,
      loadSeconds,
      rssDuringLoad,
      tailPuts,
      tailSeconds,
      rssAfterLoadMB: rss(memoryAfterLoad),
      rssSettledAfterLoadMB: rss(memorySettledAfterLoad),
      rssAfterTailMB: rss(memoryAfterTail),
      appliedIndex: logTail.map((member) => member.applied),
      logTailEntries: logTail.map((member) => member.tail),
      restartToReadySeconds: readySeconds,
      restartToServingSeconds: servingSeconds,
      rssAfterRestartMB: rss(memoryAfterRestart),
      peakRssOfRestartMB: peakRssOfRestart,
      peakRssBeforeRestartMB: peakRssBeforeRestart,
      memoryAfterLoadMB: memoryAfterLoad,
      memorySettledAfterLoadMB: memorySettledAfterLoad,
      memoryAfterTailMB: memoryAfterTail,
      memoryAfterRestartMB: memoryAfterRestart,
    }),
  );
  if (restartFlags.length > memberFlags.length) await stopGracefully();
} finally {
  for (const child of children) child.kill('SIGKILL');
  agent.destroy();
  await new Promise((resolve) => setTimeout(resolve, 300));
  await rm(root, { recursive: true, force: true });
}
