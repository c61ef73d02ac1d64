/**
 * Memory and restart benchmark of a real 3-member cluster (run `pnpm build` first): loads
 * KEYS keys (default 1,000,000) of 100-byte values through /v3/kv/txn (128 puts per txn), reports
 * each member's RSS, then SIGKILLs every member, restarts them and measures the time until each
 * serves a linearizable read of the last key (recovery from snapshot plus log tail).
 * Output: one JSON object on stdout.
 */

import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';

const keyCount = Number(process.env.KEYS ?? 1_000_000);
const snapshotCount = process.env.SNAPSHOT_COUNT ?? '2000';
const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const basePort = Number(process.env.BASE_PORT ?? 32379);
const root = await mkdtemp(`${tmpdir()}/kv-memory-`);
const names = ['m1', 'm2', 'm3'];
const clientUrl = (index: number): string => `http://127.0.0.1:${basePort + 10 * index}`;
const peerUrl = (index: number): string => `http://127.0.0.1:${basePort + 10 * index + 1}`;
const initialCluster = names.map((name, index) => `${name}=${peerUrl(index)}`).join(',');
const agent = new Agent({ keepAlive: true, maxSockets: 32 });

function start(index: number): ChildProcess {
  return spawn(
    process.execPath,
    [
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
      '--snapshot-count',
      snapshotCount,
      '--log-level',
      'warn',
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
}

function post(url: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const outgoing = request(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname + target.search,
        method: 'POST',
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

async function waitServing(index: number, key: string): Promise<void> {
  for (;;) {
    try {
      const response = await post(
        `${clientUrl(index)}/v3/kv/range`,
        JSON.stringify({ key, count_only: true }),
      );
      if (response.status === 200 && response.text.includes('"count":"1"')) return;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function rssMegabytes(child: ChildProcess): Promise<number> {
  const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  return Math.round(Number(match?.[1] ?? 0) / 102.4) / 10;
}

const b64 = (text: string): string => Buffer.from(text).toString('base64');
const keyOf = (index: number): string => b64(`key/${String(index).padStart(12, '0')}`);
const value = b64('v'.repeat(100));
let children = names.map((_, index) => start(index));
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
  const lastKey = keyOf(0);
  // Wait for a leader: a write succeeds.
  for (;;) {
    const response = await post(
      `${clientUrl(0)}/v3/kv/put`,
      JSON.stringify({ key: lastKey, value }),
    ).catch(() => undefined);
    if (response?.status === 200) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const loadStarted = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 12 }, async (_, worker) => {
      while (next < keyCount) {
        const first = next;
        next += 128;
        const success = [];
        for (let index = first; index < Math.min(first + 128, keyCount); index++) {
          success.push({ request_put: { key: keyOf(index), value } });
        }
        for (;;) {
          const response = await post(
            `${clientUrl(worker % 3)}/v3/kv/txn`,
            JSON.stringify({ success }),
          ).catch(() => undefined);
          if (response?.status === 200) break;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    }),
  );
  const loadSeconds = (performance.now() - loadStarted) / 1000;
  const lastLoaded = keyOf(keyCount - 1);
  await Promise.all(names.map((_, index) => waitServing(index, lastLoaded)));
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const rss = await Promise.all(children.map(rssMegabytes));
  for (const child of children) child.kill('SIGKILL');
  await new Promise((resolve) => setTimeout(resolve, 500));
  const restartStarted = performance.now();
  children = names.map((_, index) => start(index));
  const readySeconds = await Promise.all(
    names.map(async (_, index) => {
      await waitServing(index, lastLoaded);
      return Math.round((performance.now() - restartStarted) / 10) / 100;
    }),
  );
  const rssAfterRestart = await Promise.all(children.map(rssMegabytes));
  console.log(
    JSON.stringify({
      benchmark: 'kv-node-memory-restart',
      keys: keyCount,
      valueBytes: 100,
      snapshotCount: Number(snapshotCount),
      loadSeconds: Math.round(loadSeconds * 10) / 10,
      rssMB: rss,
      restartToServingSeconds: readySeconds,
      rssAfterRestartMB: rssAfterRestart,
    }),
  );
} finally {
  for (const child of children) child.kill('SIGKILL');
  agent.destroy();
  await new Promise((resolve) => setTimeout(resolve, 300));
  await rm(root, { recursive: true, force: true });
}
