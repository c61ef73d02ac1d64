/**
 * CPU per applied put, in process, LMDB against memory: KEYS keys (default 1,000,000) loaded,
 * then PUTS puts (default 100,000) overwriting keys spread over the key space, each with a
 * request id from one of 64 clients when IDS=1 (the default; IDS=0 sends none, as the HTTP
 * benches do), so the idempotency table holds what 64 clients' retries would find. The measured
 * phase reports the process's CPU time (user + system) per put, and for LMDB how much of it the
 * commits took, split into the capture of the rest of the state and the write transaction.
 * CPU time is far less sensitive to other load on the machine than throughput; still compare
 * figures only within one run of alternating rounds. BACKEND=memory|lmdb (default lmdb);
 * COMMIT_EVERY: the LMDB commit policy's bound on both pending keys and pending commands
 * (default: `DEFAULT_LMDB_COMMIT_POLICY`, 10,000).
 * Output: one JSON object on stdout.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeCommand } from '../src/codec/command-codec.js';
import { KvStateMachine } from '../src/store/kv-state-machine.js';
import { DEFAULT_LMDB_COMMIT_POLICY, LmdbStateStore } from '../src/store/lmdb-state-store.js';
import type { CapturedState, StateStore } from '../src/store/state-store.js';
import { MemoryStateStore } from '../src/store/state-store.js';

const backend = process.env.BACKEND ?? 'lmdb';
const keyCount = Number(process.env.KEYS ?? 1_000_000);
const putCount = Number(process.env.PUTS ?? 100_000);
const withIds = process.env.IDS !== '0';
const commitEvery =
  process.env.COMMIT_EVERY === undefined ? undefined : Number(process.env.COMMIT_EVERY);
const clients = 64;
const value = 'v'.repeat(100);
const keyOf = (index: number): string => `key/${String(index).padStart(12, '0')}`;
const directory = mkdtempSync(join(tmpdir(), 'kv-put-cost-'));

const store: StateStore =
  backend === 'lmdb'
    ? new LmdbStateStore(
        join(directory, 'kv.mdb'),
        commitEvery === undefined
          ? DEFAULT_LMDB_COMMIT_POLICY
          : { maxPendingKeys: commitEvery, maxPendingCommands: commitEvery },
      )
    : new MemoryStateStore();
// Time the commits (capture and transaction) by wrapping the store's own method.
const timings = { commits: 0, commitMs: 0, captureMs: 0, restBytes: 0 };
const commit = store.commit.bind(store);
store.commit = (capture: () => CapturedState): void => {
  const started = performance.now();
  commit(() => {
    const capturing = performance.now();
    const captured = capture();
    timings.captureMs += performance.now() - capturing;
    timings.restBytes = captured.rest.byteLength;
    return captured;
  });
  timings.commits++;
  timings.commitMs += performance.now() - started;
};
const machine = new KvStateMachine(undefined, { stateStore: store });

let index = 0;
function put(key: string, withId: boolean): void {
  index++;
  const requestId = withId ? `client-${index % clients}-${index}` : undefined;
  machine.apply(
    index,
    encodeCommand({
      type: 'put',
      request: { key, value, prevKv: false },
      ...(requestId === undefined ? {} : { requestId }),
    }),
  );
}

const loadStarted = performance.now();
for (let each = 0; each < keyCount; each++) put(keyOf((each * 7_919) % keyCount), withIds);
const loadSeconds = (performance.now() - loadStarted) / 1000;
timings.commits = 0;
timings.commitMs = 0;
timings.captureMs = 0;

const cpuBefore = process.cpuUsage();
const started = performance.now();
for (let each = 0; each < putCount; each++) {
  put(keyOf((each * 104_729 + 17) % keyCount), withIds);
}
const wallMs = performance.now() - started;
const cpu = process.cpuUsage(cpuBefore);
const perPut = (ms: number): number => Math.round((ms * 1000) / putCount) / 1000;
console.log(
  JSON.stringify({
    backend,
    keys: keyCount,
    puts: putCount,
    requestIds: withIds,
    commitEvery:
      backend === 'lmdb'
        ? (commitEvery ?? DEFAULT_LMDB_COMMIT_POLICY.maxPendingCommands)
        : undefined,
    remembered: machine.rememberedRequestCount,
    loadSeconds: Math.round(loadSeconds * 10) / 10,
    cpuUsPerPut: Math.round(((cpu.user + cpu.system) / putCount) * 100) / 100,
    userUsPerPut: Math.round((cpu.user / putCount) * 100) / 100,
    systemUsPerPut: Math.round((cpu.system / putCount) * 100) / 100,
    wallUsPerPut: Math.round(((wallMs * 1000) / putCount) * 100) / 100,
    commits: timings.commits,
    commitUsPerPut: perPut(timings.commitMs * 1000),
    captureUsPerPut: perPut(timings.captureMs * 1000),
    restBytes: timings.restBytes,
  }),
);
machine.close();
rmSync(directory, { recursive: true, force: true });
