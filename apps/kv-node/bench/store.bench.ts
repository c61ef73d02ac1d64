/**
 * State-machine benchmark: applies 1,000,000 puts (16-byte keys, 100-byte values) through the
 * command codec, then measures memory, point and prefix reads, and snapshot/restore.
 * Output: one JSON object on stdout.
 */

import { encodeCommand } from '../src/codec/command-codec.js';
import { prefixRangeEnd } from '../src/store/byte-string.js';
import { rangeRequest } from '../src/store/kv-types.js';
import { KvStateMachine } from '../src/store/kv-state-machine.js';

const keyCount = Number(process.env.KEYS ?? 1_000_000);
const value = 'v'.repeat(100);
const keyOf = (index: number): string => `key/${String(index).padStart(12, '0')}`;

function megabytes(bytes: number): number {
  return Math.round((bytes / 1024 / 1024) * 10) / 10;
}

const machine = new KvStateMachine();
let started = performance.now();
for (let index = 0; index < keyCount; index++) {
  // Spread inserts over the key space, as random keys would.
  const key = keyOf((index * 7_919) % keyCount);
  machine.apply(index + 1, encodeCommand({ type: 'put', request: { key, value, prevKv: false } }));
}
const applySeconds = (performance.now() - started) / 1000;
globalThis.gc?.();
const memory = process.memoryUsage();

started = performance.now();
const pointReads = 200_000;
for (let index = 0; index < pointReads; index++) {
  machine.store.range(rangeRequest(keyOf((index * 31) % keyCount)));
}
const pointReadSeconds = (performance.now() - started) / 1000;

started = performance.now();
const prefix = 'key/00000012';
const scanned = machine.store.range(rangeRequest(prefix, { rangeEnd: prefixRangeEnd(prefix) }));
const prefixScanMs = performance.now() - started;

started = performance.now();
const snapshot = machine.snapshot();
const snapshotSeconds = (performance.now() - started) / 1000;
const rssWithSnapshot = process.memoryUsage().rss;
// The chunked snapshot a writer streams to disk: the peak is the captured view plus one chunk.
globalThis.gc?.();
const rssBeforeChunks = process.memoryUsage().rss;
let peakRssStreaming = rssBeforeChunks;
let streamedBytes = 0;
started = performance.now();
for (const chunk of machine.snapshotChunks()) {
  streamedBytes += chunk.byteLength;
  peakRssStreaming = Math.max(peakRssStreaming, process.memoryUsage().rss);
}
const streamSeconds = (performance.now() - started) / 1000;
if (streamedBytes !== snapshot.byteLength) throw new Error('chunked snapshot differs in size');

started = performance.now();
const restored = new KvStateMachine();
restored.restore(snapshot, keyCount);
const restoreSeconds = (performance.now() - started) / 1000;

console.log(
  JSON.stringify({
    benchmark: 'kv-state-machine',
    keys: keyCount,
    valueBytes: value.length,
    applyPerSecond: Math.round(keyCount / applySeconds),
    rssMB: megabytes(memory.rss),
    heapUsedMB: megabytes(memory.heapUsed),
    pointReadsPerSecond: Math.round(pointReads / pointReadSeconds),
    prefixScan: { keys: scanned.count, ms: Math.round(prefixScanMs * 100) / 100 },
    snapshot: { megabytes: megabytes(snapshot.byteLength), seconds: snapshotSeconds },
    rssWithSnapshotMB: megabytes(rssWithSnapshot),
    snapshotChunks: {
      seconds: streamSeconds,
      rssBeforeMB: megabytes(rssBeforeChunks),
      peakRssMB: megabytes(peakRssStreaming),
    },
    restoreSeconds,
    restoredKeys: restored.store.size,
  }),
);
