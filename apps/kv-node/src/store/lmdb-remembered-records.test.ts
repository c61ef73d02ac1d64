/**
 * The idempotency table as records of their own on LMDB (layout 4, `lmdb-remembered-records.ts`):
 * a reopen after commits gives the table as of the last commit (ids, results and order, so the
 * same ids expire next), a file whose rest holds the table (layout 3) opens and is written as
 * layout 4 by its next commit, and a snapshot install replaces the records.
 */

import { open } from 'lmdb';
import { describe, expect, it } from 'vitest';
import type { KvCommand } from '../codec/command-codec.js';
import { encodeCommand } from '../codec/command-codec.js';
import type { IdempotencyLimits } from './idempotency-table.js';
import { KvStateMachine } from './kv-state-machine.js';
import type { LmdbStateStore } from './lmdb-state-store.js';
import type { StateStore } from './state-store.js';
import { MemoryStateStore } from './state-store.js';
import { temporaryLmdbStores } from '../../test/support/temporary-lmdb.js';

const POLICY = { maxPendingKeys: 1_000, maxPendingCommands: 100 };
/** Small, so the workloads below expire ids by count and by revision. */
const LIMITS: IdempotencyLimits = { maxEntries: 120, retainRevisions: 150 };

const lmdbStores = temporaryLmdbStores('kv-remembered-');

/** Puts from 64 clients, each with a request id of its own; every tenth a delete of nothing. */
function commands(from: number, count: number): KvCommand[] {
  return Array.from({ length: count }, (_, offset): KvCommand => {
    const at = from + offset;
    const requestId = `client-${at % 64}-${at}`;
    return at % 10 === 9
      ? {
          type: 'deleteRange',
          request: { key: `none/${at}`, rangeEnd: '', prevKv: false },
          requestId,
        }
      : {
          type: 'put',
          request: { key: `k/${at % 37}`, value: `v${at}`, prevKv: false },
          requestId,
        };
  });
}

function applyAll(machine: KvStateMachine, list: KvCommand[], firstIndex: number): void {
  list.forEach((command, offset) => machine.apply(firstIndex + offset, encodeCommand(command)));
}

/** The records and the meta record of a closed file. */
function peek(path: string): { records: number; meta: Record<string, unknown> } {
  const root = open({ path, maxDbs: 12 });
  try {
    const remembered = root.openDB({
      name: 'remembered',
      encoding: 'binary',
      keyEncoding: 'binary',
    });
    const meta = root.openDB<Record<string, unknown>, string>({
      name: 'meta',
      encoding: 'msgpack',
    });
    return { records: remembered.getCount(), meta: meta.get('state') as Record<string, unknown> };
  } finally {
    void root.close();
  }
}

/** The LMDB store with the table left in the rest, as layouts 1 to 3 kept it. */
function tableInRest(store: LmdbStateStore): StateStore {
  return {
    backend: store.backend,
    maps: store.maps,
    recovered: store.recovered,
    applied: (capture) => store.applied(capture),
    commit: (capture) => store.commit(capture),
    close: () => store.close(),
  };
}

describe('the idempotency table as LMDB records', () => {
  it('reopens as of the last commit: the same ids, results and order as memory', () => {
    const path = lmdbStores.path();
    const lmdb = new KvStateMachine(LIMITS, { stateStore: lmdbStores.open(path, POLICY) });
    const twin = new KvStateMachine(LIMITS, { stateStore: new MemoryStateStore() });
    // Commits at 100, 200 and 300; the 50 after are lost with the process.
    applyAll(lmdb, commands(1, 350), 1);
    applyAll(twin, commands(1, 300), 1);
    lmdbStores.forgetLatest();
    lmdb.close();
    expect(peek(path).records).toBe(twin.rememberedRequestCount);

    const reopened = new KvStateMachine(LIMITS, { stateStore: lmdbStores.open(path, POLICY) });
    expect(reopened.appliedIndex).toBe(300);
    expect(reopened.rememberedRequestCount).toBe(twin.rememberedRequestCount);
    expect(Buffer.from(reopened.snapshot())).toEqual(Buffer.from(twin.snapshot()));
    // Retries of ids both remember are replayed, of ids both forgot applied again; the table
    // then expires the same ids in both (its numbering goes on from the records').
    const retries = commands(170, 200);
    applyAll(reopened, retries, 301);
    applyAll(twin, retries, 301);
    expect(Buffer.from(reopened.snapshot())).toEqual(Buffer.from(twin.snapshot()));
    lmdbStores.closeLatest();

    const again = new KvStateMachine(LIMITS, { stateStore: lmdbStores.open(path, POLICY) });
    expect(Buffer.from(again.snapshot())).toEqual(Buffer.from(twin.snapshot()));
    lmdbStores.closeLatest();
    expect(peek(path).records).toBe(twin.rememberedRequestCount);
  });

  it('opens a file whose rest holds the table (layout 3) and writes records at the next commit', () => {
    const path = lmdbStores.path();
    const old = new KvStateMachine(LIMITS, {
      stateStore: tableInRest(lmdbStores.open(path, POLICY)),
    });
    const twin = new KvStateMachine(LIMITS, { stateStore: new MemoryStateStore() });
    applyAll(old, commands(1, 200), 1);
    applyAll(twin, commands(1, 200), 1);
    lmdbStores.closeLatest();
    const root = open({ path, maxDbs: 12 });
    const meta = root.openDB<Record<string, unknown>, string>({
      name: 'meta',
      encoding: 'msgpack',
    });
    const { rememberedFirst, rememberedNext, ...earlier } = meta.get('state') as Record<
      string,
      unknown
    >;
    expect([rememberedFirst, rememberedNext]).toEqual([undefined, undefined]);
    meta.putSync('state', { ...earlier, layout: 3 });
    void root.close();
    expect(peek(path)).toMatchObject({ records: 0, meta: { layout: 3 } });

    const upgraded = new KvStateMachine(LIMITS, { stateStore: lmdbStores.open(path, POLICY) });
    expect(upgraded.rememberedRequestCount).toBe(twin.rememberedRequestCount);
    expect(Buffer.from(upgraded.snapshot())).toEqual(Buffer.from(twin.snapshot()));
    lmdbStores.closeLatest();
    const written = peek(path);
    expect(written.meta).toMatchObject({ layout: 4 });
    expect(written.records).toBe(twin.rememberedRequestCount);

    const reopened = new KvStateMachine(LIMITS, { stateStore: lmdbStores.open(path, POLICY) });
    applyAll(reopened, commands(150, 120), 201);
    applyAll(twin, commands(150, 120), 201);
    expect(Buffer.from(reopened.snapshot())).toEqual(Buffer.from(twin.snapshot()));
  });

  it('replaces the records with a restored snapshot’s table, in the commit that installs it', () => {
    const path = lmdbStores.path();
    const lmdb = new KvStateMachine(LIMITS, { stateStore: lmdbStores.open(path, POLICY) });
    applyAll(lmdb, commands(1, 150), 1);
    lmdb.snapshot();
    const source = new KvStateMachine(LIMITS, { stateStore: new MemoryStateStore() });
    applyAll(source, commands(1000, 90), 1);
    lmdb.restore(source.snapshot(), 500);
    lmdbStores.closeLatest();
    expect(peek(path).records).toBe(source.rememberedRequestCount);

    const reopened = new KvStateMachine(LIMITS, { stateStore: lmdbStores.open(path, POLICY) });
    expect(reopened.rememberedRequestCount).toBe(90);
    expect(Buffer.from(reopened.snapshot())).toEqual(Buffer.from(source.snapshot()));
  });
});
