/**
 * State-store benchmark: the same puts (16-byte keys, 100-byte values) applied through the
 * command codec to a state machine on one backend, then point reads, the streamed snapshot, and
 * for LMDB the reopen of the committed state in a fresh process (its time and memory, a watch
 * catch-up from an old revision, and a compaction with the file's size before and after); in
 * memory, the same compaction in this process, for comparison. Run
 * once per backend, alternating, on the same machine: BACKEND=memory|lmdb (default memory), KEYS
 * (default 1,000,000).
 *
 * Memory is read from /proc: RSS split into anonymous memory (the heap, buffers) and file pages
 * (LMDB's memory map, which the kernel may drop and read again), as the acceptance asks about
 * memory that grows with the data. Output: one JSON object on stdout.
 */

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeCommand } from '../src/codec/command-codec.js';
import { rangeRequest } from '../src/store/kv-types.js';
import { KvStateMachine } from '../src/store/kv-state-machine.js';
import { LmdbStateStore } from '../src/store/lmdb-state-store.js';
import type { StateStore } from '../src/store/state-store.js';
import { MemoryStateStore } from '../src/store/state-store.js';

const reopenPath = process.env.REOPEN_PATH;
const backend = reopenPath === undefined ? (process.env.BACKEND ?? 'memory') : 'lmdb';
const keyCount = Number(process.env.KEYS ?? 1_000_000);
const value = 'v'.repeat(100);
const keyOf = (index: number): string => `key/${String(index).padStart(12, '0')}`;
const directory = reopenPath === undefined ? mkdtempSync(join(tmpdir(), 'kv-state-bench-')) : '';
const path = reopenPath ?? join(directory, 'kv-state.mdb');

function openStore(): StateStore {
  return backend === 'lmdb' ? new LmdbStateStore(path) : new MemoryStateStore();
}

/** RSS, anonymous and file-backed resident memory in MB, from /proc/self/status. */
function residentMB(): { rss: number; anon: number; file: number } {
  const status = readFileSync('/proc/self/status', 'utf8');
  const field = (name: string): number =>
    Math.round(
      Number(new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1] ?? NaN) / 102.4,
    ) / 10;
  return { rss: field('VmRSS'), anon: field('RssAnon'), file: field('RssFile') };
}

function percentile(sorted: number[], fraction: number): number {
  return (
    Math.round(
      (sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? 0) * 1000,
    ) / 1000
  );
}

/** A store's file and how much of it is in use (LMDB's pages), where the store reports it. */
interface DiskUsage {
  fileBytes: number;
  allocatedBytes: number;
  inUseBytes: number;
}

const megabytes = (bytes: number): number => Math.round(bytes / 1024 / 102.4) / 10;

function usageMB(usage: DiskUsage | undefined): Record<string, number> | undefined {
  if (usage === undefined) return undefined;
  return {
    fileMB: megabytes(usage.fileBytes),
    duMB: megabytes(usage.allocatedBytes),
    inUseMB: megabytes(usage.inUseBytes),
  };
}

/**
 * The child's part: reopen the LMDB file a parent wrote, in a process that held nothing before,
 * then catch a watch up from an old revision and compact half the history.
 */
function reopenInThisProcess(): void {
  globalThis.gc?.();
  const baseline = residentMB();
  let started = performance.now();
  const machine = new KvStateMachine(undefined, { stateStore: openStore() });
  const openSeconds = (performance.now() - started) / 1000;
  globalThis.gc?.();
  const afterOpen = residentMB();
  // Watch catch-up reads each revision's changes from the log, oldest first.
  started = performance.now();
  let events = 0;
  for (let revision = 2; revision < 2 + 100_000; revision++) {
    events += machine.store.changesAt(revision).length;
  }
  const catchUpSeconds = (performance.now() - started) / 1000;
  const withUsage = machine as unknown as { diskUsage?: () => DiskUsage | undefined };
  const before = withUsage.diskUsage?.();
  const compactAt = Math.floor(machine.store.revision / 2);
  started = performance.now();
  machine.apply(
    machine.appliedIndex + 1,
    encodeCommand({
      type: 'maintenance',
      request: { kind: 'compact', revision: compactAt, physical: false },
    }),
  );
  const compactSeconds = (performance.now() - started) / 1000;
  const after = withUsage.diskUsage?.();
  globalThis.gc?.();
  const afterCompact = residentMB();
  machine.close();
  console.log(
    JSON.stringify({
      openSeconds: Math.round(openSeconds * 1000) / 1000,
      residentBeforeOpenMB: baseline,
      residentAfterOpenMB: afterOpen,
      catchUp: { revisions: 100_000, events, seconds: Math.round(catchUpSeconds * 100) / 100 },
      compaction: {
        revision: compactAt,
        seconds: Math.round(compactSeconds * 100) / 100,
        before: usageMB(before),
        after: usageMB(after),
        fileMBAfter: megabytes(statSync(path).size),
        residentAfterMB: afterCompact,
      },
    }),
  );
}

if (reopenPath !== undefined) reopenInThisProcess();
else
  try {
    const machine = new KvStateMachine(undefined, { stateStore: openStore() });
    let started = performance.now();
    // Anonymous memory (the heap) as the writes grow: flat when the store holds its data on disk.
    const growth: { applied: number; heapMB: number; anonMB: number; fileMB: number }[] = [];
    for (let index = 0; index < keyCount; index++) {
      if (index > 0 && index % Math.floor(keyCount / 4) === 0) {
        globalThis.gc?.();
        const resident = residentMB();
        growth.push({
          applied: index,
          // The JavaScript heap alone; anonymous memory adds LMDB's and V8's native buffers.
          heapMB: megabytes(process.memoryUsage().heapUsed),
          anonMB: resident.anon,
          fileMB: resident.file,
        });
      }
      // Spread inserts over the key space, as random keys would.
      const key = keyOf((index * 7_919) % keyCount);
      machine.apply(
        index + 1,
        encodeCommand({ type: 'put', request: { key, value, prevKv: false } }),
      );
    }
    const applySeconds = (performance.now() - started) / 1000;
    globalThis.gc?.();
    const afterLoad = residentMB();

    const latencies: number[] = [];
    started = performance.now();
    for (let index = 0; index < 100_000; index++) {
      const begun = performance.now();
      machine.store.range(rangeRequest(keyOf((index * 7_727) % keyCount)));
      latencies.push(performance.now() - begun);
    }
    const pointReadSeconds = (performance.now() - started) / 1000;
    latencies.sort((left, right) => left - right);

    started = performance.now();
    let snapshotBytes = 0;
    let peakDuringSnapshot = residentMB().rss;
    for (const chunk of machine.snapshotChunks()) {
      snapshotBytes += chunk.byteLength;
      peakDuringSnapshot = Math.max(peakDuringSnapshot, residentMB().rss);
    }
    const snapshotSeconds = (performance.now() - started) / 1000;

    let reopen: { seconds: number; appliedIndex: number; fileMB: number } | undefined;
    let freshProcess: unknown;
    let memoryCompaction: { revision: number; seconds: number } | undefined;
    if (backend === 'memory') {
      // The compaction the LMDB child runs, at the same revision, on the heap's revision log.
      const compactAt = Math.floor(machine.store.revision / 2);
      started = performance.now();
      machine.apply(
        keyCount + 1,
        encodeCommand({
          type: 'maintenance',
          request: { kind: 'compact', revision: compactAt, physical: false },
        }),
      );
      memoryCompaction = {
        revision: compactAt,
        seconds: Math.round(performance.now() - started) / 1000,
      };
    }
    if (backend === 'lmdb') {
      machine.close();
      started = performance.now();
      const reopened = new KvStateMachine(undefined, { stateStore: openStore() });
      reopen = {
        seconds: Math.round(performance.now() - started) / 1000,
        appliedIndex: reopened.appliedIndex,
        fileMB: megabytes(statSync(path).size),
      };
      reopened.close();
      const output = execFileSync(process.execPath, ['--expose-gc', process.argv[1] as string], {
        env: { ...process.env, REOPEN_PATH: path },
        encoding: 'utf8',
      });
      freshProcess = JSON.parse(output) as unknown;
    }

    console.log(
      JSON.stringify({
        benchmark: 'state-store',
        backend,
        node: process.version,
        keys: keyCount,
        valueBytes: value.length,
        applyPerSecond: Math.round(keyCount / applySeconds),
        residentAfterLoadMB: afterLoad,
        residentWhileLoading: growth,
        pointReads: {
          perSecond: Math.round(100_000 / pointReadSeconds),
          p50ms: percentile(latencies, 0.5),
          p99ms: percentile(latencies, 0.99),
        },
        snapshot: {
          megabytes: Math.round(snapshotBytes / 1024 / 102.4) / 10,
          seconds: Math.round(snapshotSeconds * 100) / 100,
          peakRssMB: peakDuringSnapshot,
        },
        ...(reopen === undefined ? {} : { reopen, reopenInFreshProcess: freshProcess }),
        ...(memoryCompaction === undefined ? {} : { compaction: memoryCompaction }),
      }),
    );
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
