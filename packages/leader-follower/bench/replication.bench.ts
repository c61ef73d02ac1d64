// Loopback benchmark: 3 servers, one process each, real WAL (fdatasync) + real TCP. Measures
// committed entries/s and commit latency (propose -> applied on the leader) at 1 and 64
// concurrent proposers with 100-byte entries. Prints JSON.
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { summarize } from './latency-summary.js';
import { LoopbackCluster } from './loopback-cluster.js';

const durationMs = Number(process.env['LF_BENCH_MS'] ?? 5_000);

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

const root = mkdtempSync(join(tmpdir(), 'lf-bench-baseline-'));
const baseline = rawFdatasyncBaseline(root, 2_000);
rmSync(root, { recursive: true, force: true });
// LF_BENCH_PROFILE=<dir> writes a CPU profile per server process.
const cluster = await LoopbackCluster.start(
  fileURLToPath(new URL('./replication-node.js', import.meta.url)),
  process.env['LF_BENCH_PROFILE'],
);
await cluster.load(64, 1_000);
const results = [];
for (const concurrency of [1, 64]) results.push(await cluster.load(concurrency, durationMs));
await cluster.stop();
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
