/**
 * Issue 23, finding 3: do big reads starve replication? Starts 3 real kv-node members on loopback
 * (run `pnpm build` first), loads KEYS keys of VALUE_BYTES, then runs RANGES concurrent full
 * ranges (`/v3/kv/range` over every key, about 1.4 x the data as JSON each) on the leader while
 * one client writes small puts to it one after another. Prints one JSON object: leader changes
 * seen by the members' status endpoints, the longest write stall (the slowest put, and the longest
 * time between two completed puts), the leader's longest event-loop delay during the reads (its
 * `nodejs_eventloop_lag_max_seconds`), each range's duration and size, and the leader's resident
 * memory before the ranges and at its peak during them. On a loaded machine put latency includes
 * waiting for a CPU; the event-loop delay tells how long the leader itself was blocked.
 *
 * Environment: KEYS (default 200000), VALUE_BYTES (default 1024), RANGES (default 4), BASE_PORT
 * (default 43379; members use BASE_PORT + 10 * i and + 1), BENCH_KV_NODE_CLI (the kv-node entry
 * point; default ../dist/cli.js), BENCH_KV_NODE_FLAGS (node flags for the members, e.g.
 * "--cpu-prof --cpu-prof-dir=/tmp/prof"; members are then stopped with SIGTERM so that profiles
 * get written).
 */

import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { kvNodeCli, kvNodeFlags } from './bench-settings.js';

const keyCount = Number(process.env.KEYS ?? 200_000);
const valueBytes = Number(process.env.VALUE_BYTES ?? 1024);
const rangeCount = Number(process.env.RANGES ?? 4);
const basePort = Number(process.env.BASE_PORT ?? 43379);

const b64 = (text: string): string => Buffer.from(text).toString('base64');
const keyOf = (index: number): string => `bench/${String(index).padStart(8, '0')}`;

interface Member {
  name: string;
  clientUrl: string;
  peerUrl: string;
  child?: ChildProcess;
}

interface ClusterStatus {
  name: string;
  role: string;
  leader_id: string | null;
  generation: number;
}

async function post(url: string, body: unknown): Promise<Response> {
  return fetch(url, { method: 'POST', body: JSON.stringify(body) });
}

async function status(member: Member): Promise<ClusterStatus | undefined> {
  try {
    const response = await fetch(`${member.clientUrl}/v1/cluster`, {
      signal: AbortSignal.timeout(2000),
    });
    return (await response.json()) as ClusterStatus;
  } catch {
    return undefined;
  }
}

async function leaderOf(members: Member[]): Promise<Member> {
  for (let attempt = 0; attempt < 300; attempt++) {
    for (const member of members) {
      if ((await status(member))?.role === 'leader') return member;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('no leader');
}

/**
 * The longest event-loop delay of `member` since the last call, in ms (prom-client's
 * `nodejs_eventloop_lag_max_seconds`, whose histogram each scrape resets), or NaN.
 */
async function eventLoopDelayMaxMs(member: Member): Promise<number> {
  try {
    // No short timeout: a scrape given up on would still be answered (and reset the histogram)
    // once the member's loop runs again, losing exactly the delay that matters.
    const text = await (await fetch(`${member.clientUrl}/metrics`)).text();
    return 1000 * Number(/^nodejs_eventloop_lag_max_seconds (\S+)$/m.exec(text)?.[1]);
  } catch {
    return Number.NaN;
  }
}

/** Resident memory of a process in bytes (Linux /proc), or NaN elsewhere. */
async function residentBytes(pid: number | undefined): Promise<number> {
  try {
    const text = await readFile(`/proc/${pid}/status`, 'utf8');
    return 1024 * Number(/^VmRSS:\s+(\d+) kB$/m.exec(text)?.[1]);
  } catch {
    return Number.NaN;
  }
}

async function load(leader: Member): Promise<void> {
  const value = b64('v'.repeat(valueBytes));
  const perTxn = 100;
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const first = next;
      next += perTxn;
      if (first >= keyCount) return;
      const success = [];
      for (let index = first; index < Math.min(first + perTxn, keyCount); index++) {
        success.push({ request_put: { key: b64(keyOf(index)), value } });
      }
      const response = await post(`${leader.clientUrl}/v3/kv/txn`, { success });
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`load txn answered ${response.status}`);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

/** One full range, its body read and counted but not kept. */
async function fullRange(
  leader: Member,
): Promise<{ seconds: number; bytes: number; status: number }> {
  const started = performance.now();
  const response = await post(`${leader.clientUrl}/v3/kv/range`, {
    key: b64('bench/'),
    range_end: b64('bench0'),
  });
  let bytes = 0;
  let tail = '';
  for await (const chunk of response.body ?? []) {
    bytes += (chunk as Uint8Array).length;
    tail = (tail + Buffer.from(chunk as Uint8Array).toString('latin1')).slice(-64);
  }
  if (response.status === 200 && !tail.endsWith(`"count":"${keyCount}"}`)) {
    throw new Error(`range body ends unexpectedly: ${tail}`);
  }
  return { seconds: (performance.now() - started) / 1000, bytes, status: response.status };
}

const root = await mkdtemp(`${tmpdir()}/kv-big-range-`);
await writeFile(`${root}/peer-secret`, 'big-range-bench-peer-secret\n', { mode: 0o600 });
const members: Member[] = [0, 1, 2].map((index) => ({
  name: `m${index}`,
  clientUrl: `http://127.0.0.1:${basePort + 10 * index}`,
  peerUrl: `http://127.0.0.1:${basePort + 10 * index + 1}`,
}));
const initialCluster = members.map((member) => `${member.name}=${member.peerUrl}`).join(',');
for (const member of members) {
  member.child = spawn(
    process.execPath,
    [
      ...kvNodeFlags,
      kvNodeCli,
      '--name',
      member.name,
      '--data-dir',
      `${root}/${member.name}`,
      '--listen-client-urls',
      member.clientUrl,
      '--listen-peer-urls',
      member.peerUrl,
      '--initial-cluster',
      initialCluster,
      '--peer-secret-file',
      `${root}/peer-secret`,
      '--log-level',
      'error',
    ],
    { stdio: 'ignore' },
  );
}
const stop = (): void => {
  for (const member of members) member.child?.kill('SIGKILL');
};
process.once('SIGINT', stop);
try {
  const leader = await leaderOf(members);
  const loadStarted = performance.now();
  await load(leader);
  const loadSeconds = (performance.now() - loadStarted) / 1000;
  const before = await status(leader);
  const rssBefore = await residentBytes(leader.child?.pid);

  let running = true;
  // Every member's view of who leads, sampled every 100 ms.
  const leaderships = new Set<string>();
  let peakRss = rssBefore;
  let measuringDelay = false;
  let leaderDelayMaxMs = 0;
  // Its own loop, so that a blocked leader delays neither the status nor the memory samples.
  const delaySampler = (async () => {
    while (running) {
      const delay = await eventLoopDelayMaxMs(leader);
      if (measuringDelay && Number.isFinite(delay)) {
        leaderDelayMaxMs = Math.max(leaderDelayMaxMs, delay);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  })();
  const sampler = (async () => {
    while (running) {
      for (const member of members) {
        const seen = await status(member);
        if (seen !== undefined && seen.leader_id !== null)
          leaderships.add(`${seen.leader_id}@${seen.generation}`);
      }
      peakRss = Math.max(peakRss, await residentBytes(leader.child?.pid));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  let puts = 0;
  let failedPuts = 0;
  let slowestPutMs = 0;
  let longestGapMs = 0;
  const writer = (async () => {
    let lastDone = performance.now();
    while (running) {
      const started = performance.now();
      try {
        const response = await post(`${leader.clientUrl}/v3/kv/put`, {
          key: b64('bench-writer'),
          value: b64(String(puts)),
        });
        await response.arrayBuffer();
        if (response.status === 200) puts++;
        else failedPuts++;
      } catch {
        failedPuts++;
      }
      const done = performance.now();
      slowestPutMs = Math.max(slowestPutMs, done - started);
      longestGapMs = Math.max(longestGapMs, done - lastDone);
      lastDone = done;
    }
  })();
  // Let the writer and sampler settle before the reads start.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  measuringDelay = true;
  const rangesStarted = performance.now();
  const ranges = await Promise.all(
    Array.from({ length: rangeCount }, () =>
      fullRange(leader).catch((error: unknown) => ({
        seconds: (performance.now() - rangesStarted) / 1000,
        bytes: 0,
        status: 0,
        error: (error as Error).message,
      })),
    ),
  );
  const rangesSeconds = (performance.now() - rangesStarted) / 1000;
  // One more second of writes after the reads, to see a stall they leave behind.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  running = false;
  await Promise.all([sampler, delaySampler, writer]);
  const after = await status(leader);
  console.log(
    JSON.stringify({
      node: process.version,
      keys: keyCount,
      valueBytes,
      loadSeconds: Math.round(loadSeconds * 10) / 10,
      leaderBefore: `${before?.name}@${before?.generation}`,
      leaderAfter: `${after?.name}@${after?.generation}`,
      leaderChanges: leaderships.size - 1,
      ranges: ranges.map((range) => ({
        ...range,
        seconds: Math.round(range.seconds * 100) / 100,
        mib: Math.round((range.bytes / 2 ** 20) * 10) / 10,
      })),
      rangesSeconds: Math.round(rangesSeconds * 100) / 100,
      puts,
      failedPuts,
      slowestPutMs: Math.round(slowestPutMs),
      longestGapBetweenPutsMs: Math.round(longestGapMs),
      leaderEventLoopDelayMaxMs: Math.round(leaderDelayMaxMs),
      leaderRssBeforeMiB: Math.round(rssBefore / 2 ** 20),
      leaderRssPeakMiB: Math.round(peakRss / 2 ** 20),
    }),
  );
} finally {
  if (kvNodeFlags.length > 0) {
    for (const member of members) member.child?.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 5000));
  }
  stop();
  process.off('SIGINT', stop);
  await new Promise((resolve) => setTimeout(resolve, 500));
  await rm(root, { recursive: true, force: true });
}
