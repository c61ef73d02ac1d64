// Memory of the in-memory log with and without the payload window. One single-server node on the
// real file system loads `ENTRIES` commands of `ENTRY_BYTES` (kv-node's 1M-key load: 100,000
// transactions of 10 puts, ~1.3 KB each) with no snapshot in between, then reports what its log
// holds and the process's memory. Each window size runs in its own child process (`--expose-gc`),
// so the figures do not mix. Prints one JSON line per run.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NodeFileSystem, nodeClock, nodeTimers } from '@x/wal';
import { LeaderFollowerNode } from '../src/index.js';

const ENTRIES = Number(process.env['LF_BENCH_ENTRIES'] ?? 100_000);
const ENTRY_BYTES = 1300;
const CONCURRENCY = 256;
const MIB = 1024 * 1024;

async function runOne(payloadCacheBytes: number): Promise<Record<string, unknown>> {
  const directory = mkdtempSync(join(tmpdir(), 'lf-payload-window-'));
  try {
    const node = await LeaderFollowerNode.open({
      id: 'solo',
      members: ['solo'],
      transport: { send: () => undefined, onMessage: () => undefined },
      fileSystem: new NodeFileSystem(),
      dataDirectory: directory,
      clock: nodeClock,
      timers: nodeTimers,
      random: { next: Math.random },
      stateMachine: {
        apply: (index) => index,
        snapshot: () => new Uint8Array(8),
        restore: () => undefined,
      },
      snapshotEveryEntries: Number.MAX_SAFE_INTEGER,
      payloadCacheBytes,
    });
    node.start();
    while (node.role !== 'leader') await new Promise((resolve) => setTimeout(resolve, 50));
    const started = performance.now();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < ENTRIES) {
        next++;
        // A fresh buffer per command, as a server decoding client requests has.
        await node.propose(new Uint8Array(ENTRY_BYTES).fill(next & 255));
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const seconds = (performance.now() - started) / 1000;
    (globalThis as { gc?: () => void }).gc?.();
    const memory = process.memoryUsage();
    const result = {
      payloadCacheBytes: Number.isFinite(payloadCacheBytes) ? payloadCacheBytes : 'Infinity',
      entries: ENTRIES,
      entryBytes: ENTRY_BYTES,
      logEntryCount: node.logEntryCount,
      logPayloadMiB: +(node.logPayloadBytes / MIB).toFixed(1),
      rssMiB: +(memory.rss / MIB).toFixed(1),
      heapUsedMiB: +(memory.heapUsed / MIB).toFixed(1),
      arrayBuffersMiB: +(memory.arrayBuffers / MIB).toFixed(1),
      entriesPerSecond: Math.round(ENTRIES / seconds),
    };
    await node.close();
    return result;
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

const child = process.argv[2];
if (child !== undefined) {
  console.log(JSON.stringify(await runOne(Number(child))));
} else {
  const script = fileURLToPath(import.meta.url);
  for (const window of [Number.POSITIVE_INFINITY, 16 * MIB, 0]) {
    process.stdout.write(
      execFileSync(process.execPath, ['--expose-gc', script, String(window)], {
        encoding: 'utf8',
      }),
    );
  }
}
