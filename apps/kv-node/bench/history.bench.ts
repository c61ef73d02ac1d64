/**
 * History benchmark: what the store's multi-version history costs in memory, per revision, and
 * what compaction gives back. Loads KEYS keys (default 10,000; 16-byte keys), then REVISIONS
 * overwrites (default 500,000) of VALUE_BYTES-byte values (default 100) spread over the keys, so
 * the history holds every superseded value; then compacts at the current revision.
 *
 * Reports V8 heap used (after a full GC) before the overwrites, after them, and after compaction,
 * the heap bytes per revision of history, the store's own accounted size (what
 * --quota-backend-bytes is checked against) per revision, and a point read at the latest
 * revision (with the history, and again once compaction has dropped it: the baseline) and at a
 * past one. Run with `pnpm bench:history` (node --expose-gc).
 * Output: one JSON object on stdout.
 */

import { KvStore } from '../src/store/kv-store.js';
import { rangeRequest } from '../src/store/kv-types.js';

const keyCount = Number(process.env.KEYS ?? 10_000);
const revisions = Number(process.env.REVISIONS ?? 500_000);
const valueBytes = Number(process.env.VALUE_BYTES ?? 100);
const keyOf = (index: number): string => `key/${String(index).padStart(12, '0')}`;

function heapUsed(): number {
  if (globalThis.gc === undefined) throw new Error('run with node --expose-gc');
  globalThis.gc();
  globalThis.gc();
  return process.memoryUsage().heapUsed;
}

/** A distinct value per revision (so no two history entries share a string). */
const valueOf = (revision: number): string =>
  String(revision).padStart(12, '0') + 'v'.repeat(Math.max(0, valueBytes - 12));

const store = new KvStore();
for (let index = 0; index < keyCount; index++) {
  store.put({ key: keyOf(index), value: valueOf(index), prevKv: false });
}
const loaded = heapUsed();
const loadedAccounted = store.accountedBytes;
const firstOverwrite = store.revision + 1;

let started = performance.now();
for (let round = 0; round < revisions; round++) {
  store.put({ key: keyOf((round * 7_919) % keyCount), value: valueOf(round), prevKv: false });
}
const putSeconds = (performance.now() - started) / 1000;
const withHistory = heapUsed();
const withHistoryAccounted = store.accountedBytes;

const reads = 100_000;
const timeReads = (revision: number): number => {
  const begin = performance.now();
  for (let index = 0; index < reads; index++) {
    store.range(rangeRequest(keyOf((index * 31) % keyCount)), revision);
  }
  return Math.round(reads / ((performance.now() - begin) / 1000));
};
const latestReadsPerSecond = timeReads(0);
const pastReadsPerSecond = timeReads(firstOverwrite + Math.floor(revisions / 2));

started = performance.now();
store.compact(store.revision);
const compactSeconds = (performance.now() - started) / 1000;
const compacted = heapUsed();
// The same reads with no history left: the baseline of the latest-read path, in the same run.
const latestReadsAfterCompaction = timeReads(0);

const perRevision = (bytes: number): number => Math.round((bytes / revisions) * 10) / 10;
const megabytes = (bytes: number): number => Math.round((bytes / 1024 / 1024) * 10) / 10;
process.stdout.write(
  `${JSON.stringify(
    {
      node: process.version,
      keys: keyCount,
      revisions,
      valueBytes,
      heapMb: {
        loaded: megabytes(loaded),
        withHistory: megabytes(withHistory),
        afterCompaction: megabytes(compacted),
      },
      heapBytesPerRevision: perRevision(withHistory - loaded),
      accountedBytesPerRevision: perRevision(withHistoryAccounted - loadedAccounted),
      heapFreedByCompactionMb: megabytes(withHistory - compacted),
      putsPerSecond: Math.round(revisions / putSeconds),
      latestPointReadsPerSecond: latestReadsPerSecond,
      pastPointReadsPerSecond: pastReadsPerSecond,
      latestPointReadsPerSecondWithoutHistory: latestReadsAfterCompaction,
      compactSeconds: Math.round(compactSeconds * 1000) / 1000,
    },
    null,
    2,
  )}\n`,
);
