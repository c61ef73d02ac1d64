/**
 * Snapshot install benchmark: the memory a member holds while it installs a leader's snapshot,
 * on each backend. The parent builds a state of KEYS keys (default 300,000; 16-byte keys,
 * 100-byte values, every tenth key overwritten so there is history), writes its snapshot to a
 * file, then has a fresh child process per backend restore it from the file in 1 MiB chunks (as
 * `@x/leader-follower` streams it), sampling the JavaScript heap and RSS at every chunk. The
 * memory backend decodes the whole snapshot, then loads it; LMDB writes it in bounded batches
 * (docs/design.md, "Installing a snapshot in bounded batches"). Output: one JSON object.
 *
 *   pnpm --filter @x/kv-node bench:snapshot-install      # KEYS=1000000 for a larger state
 */

import { execFileSync } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeCommand } from '../src/codec/command-codec.js';
import { KvStateMachine } from '../src/store/kv-state-machine.js';
import { LmdbStateStore } from '../src/store/lmdb-state-store.js';
import { MemoryStateStore } from '../src/store/state-store.js';

const snapshotPath = process.env.SNAPSHOT_PATH;
const keyCount = Number(process.env.KEYS ?? 300_000);
const megabytes = (bytes: number): number => Math.round(bytes / 1024 / 102.4) / 10;

/** The child's part: restore the snapshot file on `BACKEND`, sampling memory per chunk. */
async function installInThisProcess(path: string): Promise<void> {
  const backend = process.env.BACKEND ?? 'memory';
  const directory = mkdtempSync(join(tmpdir(), 'kv-install-bench-'));
  try {
    const stateStore =
      backend === 'lmdb'
        ? new LmdbStateStore(join(directory, 'kv-state.mdb'))
        : new MemoryStateStore();
    const machine = new KvStateMachine(undefined, { stateStore });
    globalThis.gc?.();
    const baseline = process.memoryUsage();
    let peakHeap = baseline.heapUsed;
    let peakRss = baseline.rss;
    let chunks = 0;
    async function* sampled(): AsyncGenerator<Uint8Array> {
      for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
        const usage = process.memoryUsage();
        peakHeap = Math.max(peakHeap, usage.heapUsed);
        peakRss = Math.max(peakRss, usage.rss);
        chunks++;
        yield chunk as Buffer;
      }
    }
    const started = performance.now();
    await machine.restoreChunks(sampled(), 1);
    const seconds = (performance.now() - started) / 1000;
    const after = process.memoryUsage();
    peakHeap = Math.max(peakHeap, after.heapUsed);
    peakRss = Math.max(peakRss, after.rss);
    console.log(
      JSON.stringify({
        backend,
        keys: machine.store.size,
        chunks,
        seconds: Math.round(seconds * 100) / 100,
        heapBeforeMB: megabytes(baseline.heapUsed),
        peakHeapMB: megabytes(peakHeap),
        heapAfterMB: megabytes(after.heapUsed),
        rssBeforeMB: megabytes(baseline.rss),
        peakRssMB: megabytes(peakRss),
      }),
    );
    machine.close();
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

if (snapshotPath !== undefined) {
  await installInThisProcess(snapshotPath);
} else {
  const directory = mkdtempSync(join(tmpdir(), 'kv-install-bench-'));
  try {
    const leader = new KvStateMachine(undefined, { stateStore: new MemoryStateStore() });
    const value = 'v'.repeat(100);
    const keyOf = (index: number): string => `key/${String(index).padStart(12, '0')}`;
    let index = 0;
    for (let at = 0; at < keyCount; at++) {
      const key = keyOf((at * 7_919) % keyCount);
      leader.apply(++index, encodeCommand({ type: 'put', request: { key, value, prevKv: false } }));
    }
    for (let at = 0; at < keyCount; at += 10) {
      const put = { key: keyOf(at), value: `${value}2`, prevKv: false };
      leader.apply(++index, encodeCommand({ type: 'put', request: put }));
    }
    const path = join(directory, 'snapshot.bin');
    const chunks = [...leader.snapshotChunks()];
    writeFileSync(path, Buffer.concat(chunks));
    const snapshotBytes = chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0);
    const results = ['memory', 'lmdb'].map(
      (backend) =>
        JSON.parse(
          execFileSync(process.execPath, ['--expose-gc', process.argv[1] as string], {
            env: { ...process.env, SNAPSHOT_PATH: path, BACKEND: backend },
            encoding: 'utf8',
          }),
        ) as unknown,
    );
    console.log(
      JSON.stringify({
        benchmark: 'snapshot-install',
        node: process.version,
        keys: keyCount,
        snapshotMB: megabytes(snapshotBytes),
        results,
      }),
    );
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}
