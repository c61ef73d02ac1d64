/**
 * What each key costs in the JavaScript heap with the in-memory backend, independent of machine
 * load: KEYS keys (default 1,000,000; 16-byte keys, 100-byte values, as `memory.bench.ts` writes
 * them) applied through the command codec as transactions of TXN_PUTS puts (default 10) to a
 * state machine, in ascending order but shuffled within windows of WINDOW transactions (default 32,
 * as 32 concurrent clients commit them), then OVERWRITES single puts (default 0) over the first keys (each adds a
 * superseded record to a key's history). After a full GC it reports the heap used by V8 space,
 * external and array-buffer memory and the process's anonymous and file-backed RSS, each also in
 * bytes per key; then the same after a streamed snapshot (`snapshotChunks`) is taken and dropped,
 * with the snapshot's SHA-256 and the state hash (`hashKeyValues`), which a change of how the
 * store holds its data must leave as they were; then after that snapshot is restored into a new
 * state machine (a restart) and the first one dropped.
 *
 * With HEAP_SNAPSHOT=<file> it writes a heap snapshot after the load and prints the self size
 * summed by node type and constructor (the biggest 25), in bytes per key. Output: JSON on stdout.
 * Run with `--expose-gc` (the package script does).
 */

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';
import { encodeCommand } from '../src/codec/command-codec.js';
import { hashKeyValues } from '../src/store/kv-hash.js';
import { KvStateMachine } from '../src/store/kv-state-machine.js';
import { MemoryStateStore } from '../src/store/state-store.js';

const keyCount = Number(process.env.KEYS ?? 1_000_000);
const putsPerTxn = Number(process.env.TXN_PUTS ?? 10);
const overwrites = Number(process.env.OVERWRITES ?? 0);
const window = Math.max(1, Number(process.env.WINDOW ?? 32));
const heapSnapshotPath = process.env.HEAP_SNAPSHOT;
const value = 'v'.repeat(100);
const keyOf = (index: number): string => `key/${String(index).padStart(12, '0')}`;

const gc = (): void => {
  globalThis.gc?.();
  globalThis.gc?.();
};

/** Anonymous and file-backed RSS in bytes, from /proc/self/status. */
function resident(): { anon: number; file: number } {
  const status = readFileSync('/proc/self/status', 'utf8');
  const field = (name: string): number =>
    Number(new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { anon: field('RssAnon'), file: field('RssFile') };
}

/** Heap used by space, external and array buffers, and RSS, in bytes. */
function memory(): Record<string, number> {
  const spaces: Record<string, number> = {};
  for (const space of getHeapSpaceStatistics()) spaces[space.space_name] = space.space_used_size;
  const usage = process.memoryUsage();
  const { anon, file } = resident();
  return {
    heapUsed: usage.heapUsed,
    heapTotal: usage.heapTotal,
    ...spaces,
    external: usage.external,
    arrayBuffers: usage.arrayBuffers,
    rssAnon: anon,
    rssFile: file,
  };
}

const perKey = (bytes: number): number => Math.round((bytes / keyCount) * 10) / 10;
const mb = (bytes: number): number => Math.round(bytes / 104857.6) / 10;

function report(sample: Record<string, number>, base: Record<string, number>): object {
  const result: Record<string, { MB: number; bytesPerKey: number }> = {};
  for (const [name, bytes] of Object.entries(sample)) {
    const grown = bytes - (base[name] ?? 0);
    result[name] = { MB: mb(bytes), bytesPerKey: perKey(grown) };
  }
  return result;
}

interface HeapSnapshotFile {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

/** Self size by "type:name" from a heap snapshot file, the biggest first. */
function summarize(path: string): [string, number, number][] {
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as HeapSnapshotFile;
  const fields = parsed.snapshot.meta.node_fields;
  const width = fields.length;
  const typeField = fields.indexOf('type');
  const nameField = fields.indexOf('name');
  const sizeField = fields.indexOf('self_size');
  const types = parsed.snapshot.meta.node_types[0];
  const totals = new Map<string, [bytes: number, count: number]>();
  for (let offset = 0; offset < parsed.nodes.length; offset += width) {
    const type = types[parsed.nodes[offset + typeField] as number] as string;
    // Strings are named by their contents: group them by type alone.
    const name =
      type === 'string' || type === 'concatenated string' || type === 'sliced string'
        ? ''
        : (parsed.strings[parsed.nodes[offset + nameField] as number] as string);
    const label = `${type}:${name}`;
    const total = totals.get(label) ?? [0, 0];
    total[0] += parsed.nodes[offset + sizeField] as number;
    total[1] += 1;
    totals.set(label, total);
  }
  return [...totals]
    .map(([label, [bytes, count]]): [string, number, number] => [label, bytes, count])
    .sort((left, right) => right[1] - left[1])
    .slice(0, 25);
}

gc();
const base = memory();
let machine = new KvStateMachine(undefined, { stateStore: new MemoryStateStore() });
let index = 0;
/** A fixed pseudo-random sequence (a linear congruential generator), so runs compare. */
let seed = 1;
const random = (bound: number): number => {
  seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
  return seed % bound;
};
const started = performance.now();
const loadCpuBefore = process.cpuUsage();
const txnCount = Math.ceil(keyCount / putsPerTxn);
for (let windowStart = 0; windowStart < txnCount; windowStart += window) {
  const order = Array.from(
    { length: Math.min(window, txnCount - windowStart) },
    (_, offset) => windowStart + offset,
  );
  for (let position = order.length - 1; position > 0; position--) {
    const other = random(position + 1);
    [order[position], order[other]] = [order[other] as number, order[position] as number];
  }
  for (const txn of order) {
    const success = [];
    const first = txn * putsPerTxn;
    for (let key = first; key < Math.min(first + putsPerTxn, keyCount); key++) {
      success.push({ type: 'put' as const, request: { key: keyOf(key), value, prevKv: false } });
    }
    machine.apply(
      ++index,
      encodeCommand({ type: 'txn', request: { compare: [], success, failure: [] } }),
    );
  }
}
for (let put = 0; put < overwrites; put++) {
  machine.apply(
    ++index,
    encodeCommand({ type: 'put', request: { key: keyOf(put % keyCount), value, prevKv: false } }),
  );
}
const loadSeconds = Math.round(performance.now() - started) / 1000;
const loadCpu = process.cpuUsage(loadCpuBefore);
const loadCpuSeconds = Math.round((loadCpu.user + loadCpu.system) / 1000) / 1000;
gc();
const afterLoad = memory();
/** In a function, so that no register of this module's frame keeps the iterator alive. */
function snapshotSize(): { bytes: number; sha256: string } {
  let bytes = 0;
  const digest = createHash('sha256');
  for (const chunk of machine.snapshotChunks()) {
    bytes += chunk.byteLength;
    digest.update(chunk);
  }
  return { bytes, sha256: digest.digest('hex') };
}
const snapshot = snapshotSize();
gc();
const afterSnapshot = memory();
// A restart: the snapshot restored into a new machine, the old one dropped.
const restored = new KvStateMachine(undefined, { stateStore: new MemoryStateStore() });
const restoreStarted = performance.now();
const restoreCpuBefore = process.cpuUsage();
/** The chunks as a node receives them: one at a time, each after a turn of the event loop. */
async function* received(chunks: Iterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  for (const chunk of chunks) {
    await new Promise((resolve) => setImmediate(resolve));
    yield chunk;
  }
}
await restored.restoreChunks(received(machine.snapshotChunks()), index);
const restoreSeconds = Math.round(performance.now() - restoreStarted) / 1000;
// CPU time as well: on a shared machine it moves less with the load than the wall clock.
const restoreCpu = process.cpuUsage(restoreCpuBefore);
const restoreCpuSeconds = Math.round((restoreCpu.user + restoreCpu.system) / 1000) / 1000;
machine = restored;
gc();
const afterRestore = memory();
let heapBreakdown: object | undefined;
if (heapSnapshotPath !== undefined) {
  writeHeapSnapshot(heapSnapshotPath);
  heapBreakdown = summarize(heapSnapshotPath).map(([label, bytes, count]) => ({
    label,
    MB: mb(bytes),
    bytesPerKey: perKey(bytes),
    count,
  }));
}
console.log(
  JSON.stringify(
    {
      benchmark: 'kv-node-heap-per-key',
      node: process.version,
      keys: keyCount,
      putsPerTxn,
      window,
      overwrites,
      loadSeconds,
      loadCpuSeconds,
      revision: machine.store.revision,
      snapshotMB: mb(snapshot.bytes),
      // Identical before and after a change of representation: the same state, the same bytes.
      snapshotSha256: snapshot.sha256,
      stateHash: hashKeyValues(machine.store).hash,
      afterLoad: report(afterLoad, base),
      afterSnapshot: report(afterSnapshot, base),
      restoreSeconds,
      restoreCpuSeconds,
      afterRestore: report(afterRestore, base),
      heapBreakdown,
    },
    undefined,
    1,
  ),
);
