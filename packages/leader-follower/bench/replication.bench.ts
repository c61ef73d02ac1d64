// Loopback benchmark: 3 servers, one process each, real WAL (fdatasync) + real TCP. Measures
// committed entries/s and commit latency (propose -> applied on the leader) at 1 and 64
// concurrent proposers with 100-byte entries. Prints JSON.
import { fork, type ChildProcess } from 'node:child_process';
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { summarize } from './latency-summary.js';

const durationMs = Number(process.env['LF_BENCH_MS'] ?? 5_000);

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

interface Answer {
  kind: string;
  role?: string;
  result?: unknown;
}

function request(child: ChildProcess, message: object, reply: string): Promise<Answer> {
  return new Promise((resolve) => {
    const listener = (answer: Answer): void => {
      if (answer.kind !== reply) return;
      child.off('message', listener);
      resolve(answer);
    };
    child.on('message', listener);
    child.send(message);
  });
}

/** Baseline in the same run: append 100 bytes + fdatasync in a loop on the same disk. */
function rawFdatasyncBaseline(directory: string, ms: number): unknown {
  const fd = openSync(join(directory, 'baseline'), 'w');
  const record = Buffer.alloc(100, 7);
  const latencies: number[] = [];
  const end = performance.now() + ms;
  while (performance.now() < end) {
    const start = performance.now();
    writeSync(fd, record);
    fdatasyncSync(fd);
    latencies.push(performance.now() - start);
  }
  closeSync(fd);
  return {
    syncsPerSecond: Math.round(latencies.length / (ms / 1000)),
    latencyMs: summarize(latencies),
  };
}

const names = ['n1', 'n2', 'n3'];
const ports: Record<string, number> = {};
for (const name of names) ports[name] = await freePort();
const root = mkdtempSync(join(tmpdir(), 'lf-bench-'));
const baseline = rawFdatasyncBaseline(root, 2_000);
const script = fileURLToPath(new URL('./replication-node.js', import.meta.url));
const children = new Map<string, ChildProcess>();
await Promise.all(
  names.map(
    (name) =>
      new Promise<void>((resolve) => {
        // LF_BENCH_PROFILE=<dir> writes a CPU profile per server process.
        const profile = process.env['LF_BENCH_PROFILE'];
        const child = fork(script, [name, join(root, name), JSON.stringify(ports)], {
          execArgv: profile === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', profile],
        });
        children.set(name, child);
        child.once('message', () => resolve());
      }),
  ),
);

let leader: ChildProcess | undefined;
while (leader === undefined) {
  await new Promise((resolve) => setTimeout(resolve, 200));
  for (const child of children.values()) {
    const status = await request(child, { kind: 'status' }, 'status');
    if (status.role === 'leader') leader = child;
  }
}
await request(
  leader,
  { kind: 'load', concurrency: 64, durationMs: 1_000, entryBytes: 100 },
  'result',
);
const results = [];
for (const concurrency of [1, 64]) {
  const answer = await request(
    leader,
    { kind: 'load', concurrency, durationMs, entryBytes: 100 },
    'result',
  );
  results.push(answer.result);
}
for (const child of children.values()) child.send({ kind: 'stop' });
await new Promise((resolve) => setTimeout(resolve, 500));
rmSync(root, { recursive: true, force: true });
console.log(
  JSON.stringify(
    {
      benchmark: 'leader-follower loopback (3 processes, WAL + TCP)',
      entryBytes: 100,
      durationMs,
      rawFdatasyncBaseline: baseline,
      results,
    },
    null,
    2,
  ),
);
process.exit(0);
