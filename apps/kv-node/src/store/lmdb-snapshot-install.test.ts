/**
 * Installing a snapshot on LMDB in bounded batches (docs/design.md, "Installing a snapshot in
 * bounded batches"): the records go into the spare set of databases a batch per write
 * transaction and become the state only with the commit that names that set. An install cut
 * short leaves the old state and its hash, and the half-filled set is emptied on the next open;
 * a truncated or corrupted snapshot is refused and leaves the live state as it was (uncommitted
 * commands included); a completed install gives the memory backend's state, hash and snapshot
 * bytes, also after a reopen.
 */

import fc from 'fast-check';
import { open } from 'lmdb';
import { describe, expect, it } from 'vitest';
import { AuthState } from '../auth/auth-state.js';
import { MalformedEncodingError } from '../codec/binary-reader.js';
import { BinaryWriter } from '../codec/binary-writer.js';
import type { KvCommand } from '../codec/command-codec.js';
import { encodeCommand } from '../codec/command-codec.js';
import { LeaseTable } from '../lease/lease-table.js';
import { hashKeyValues } from './kv-hash.js';
import { encodeSnapshot, SnapshotDecoder } from './kv-snapshot-codec.js';
import { KvStateMachine } from './kv-state-machine.js';
import { rangeRequest } from './kv-types.js';
import type { InstallBatchLimits, LmdbSnapshotInstall } from './lmdb-snapshot-install.js';
import type { LmdbStateStore } from './lmdb-state-store.js';
import { packEntry } from './packed-entry.js';
import { blockOf } from './revision-blocks.js';
import { SnapshotRecordCheck } from './snapshot-record-check.js';
import { MemoryStateStore } from './state-store.js';
import { rewriteAsEarlierLayout } from '../../test/support/lmdb-earlier-layout.js';
import { temporaryLmdbStores } from '../../test/support/temporary-lmdb.js';

/** Small batches, so a few hundred records take many write transactions. */
const SMALL_BATCHES: InstallBatchLimits = { maxRecords: 16, maxBytes: 4096 };
const POLICY = { maxPendingKeys: 40, maxPendingCommands: 30 };
const DATA_DATABASES = ['keys', 'history', 'entry-leases', 'changes'];
/** Every batch of an install waits for an fdatasync: on a loaded machine a property run takes seconds. */
const FSYNC_BOUND_TIMEOUT_MS = 120_000;

const lmdbStores = temporaryLmdbStores('kv-install-');
const lmdbPath = lmdbStores.path;
const closeLast = lmdbStores.closeLatest;

function openLmdb(path: string, batch = SMALL_BATCHES): LmdbStateStore {
  return lmdbStores.open(path, POLICY, batch);
}

/** What the file holds, read with the store closed: entries per data database, the meta record. */
function peek(path: string): { entries: Record<string, number>; meta: Record<string, unknown> } {
  const root = open({ path, maxDbs: 12 });
  try {
    const entries: Record<string, number> = {};
    for (const base of DATA_DATABASES) {
      for (const name of [base, `${base}.1`]) {
        const db = root.openDB({ name, encoding: 'binary', keyEncoding: 'binary' });
        entries[name] = (db.getStats() as { entryCount: number }).entryCount;
      }
    }
    const meta = root.openDB<Record<string, unknown>, string>({
      name: 'meta',
      encoding: 'msgpack',
    });
    return { entries, meta: meta.get('state') ?? {} };
  } finally {
    void root.close();
  }
}

/** Entries in the set named by `suffix` ('' or '.1'). */
function setEntries(entries: Record<string, number>, suffix: string): number {
  return DATA_DATABASES.reduce((sum, base) => sum + (entries[`${base}${suffix}`] ?? 0), 0);
}

/**
 * Puts over `keys` keys (so keys gather histories), deletes, transactions, leases on some puts,
 * and a compaction half way: every section of a snapshot is exercised.
 */
function workload(count: number, keys: number, tag: string): KvCommand[] {
  const commands: KvCommand[] = [
    { type: 'lease', request: { op: 'grant', id: '7', ttlSeconds: 600 } },
  ];
  for (let index = 0; index < count; index++) {
    const key = `${tag}/${(index * 7919) % keys}`;
    if (index === Math.floor(count / 2)) {
      commands.push({
        type: 'maintenance',
        request: { kind: 'compact', revision: Math.floor(count / 4), physical: false },
      });
    } else if (index % 13 === 12) {
      commands.push({ type: 'deleteRange', request: { key, rangeEnd: '', prevKv: false } });
    } else if (index % 9 === 8) {
      commands.push({
        type: 'txn',
        request: {
          compare: [],
          success: [
            { type: 'put', request: { key, value: `t${index}`, prevKv: false } },
            { type: 'put', request: { key: `${tag}/x${index % 5}`, value: 'o', prevKv: false } },
          ],
          failure: [],
        },
      });
    } else {
      commands.push({
        type: 'put',
        request: {
          key,
          value: `${tag} ${index} `.repeat(1 + (index % 4)),
          prevKv: false,
          ...(index % 5 === 0 ? { lease: '7' } : {}),
        },
      });
    }
  }
  return commands;
}

function applyAll(machine: KvStateMachine, commands: KvCommand[], from = 1): number {
  commands.forEach((command, at) => machine.apply(from + at, encodeCommand(command)));
  return from + commands.length - 1;
}

/** A leader's snapshot (from a memory store) and the log index it stands at. */
function leaderSnapshot(commands: KvCommand[]): { bytes: Uint8Array; index: number } {
  const leader = new KvStateMachine(undefined, { stateStore: new MemoryStateStore() });
  const index = applyAll(leader, commands);
  return { bytes: leader.snapshot(), index };
}

async function* chunksOf(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) {
    await Promise.resolve();
    yield bytes.subarray(at, at + size);
  }
}

/** Everything a client could observe of a machine (reading it does not commit anything). */
function observed(machine: KvStateMachine): unknown {
  const store = machine.store;
  return {
    appliedIndex: machine.appliedIndex,
    revision: store.revision,
    compactRevision: store.compactRevision,
    size: store.size,
    accountedBytes: store.accountedBytes,
    hash: hashKeyValues(store),
    all: store.range(rangeRequest('', { rangeEnd: '\0' })),
    changes: Array.from({ length: store.revision }, (_, at) => store.changesAt(at + 1)),
  };
}

/** A memory machine restored from `snapshot`: what an install must give. */
function restoredInMemory(snapshot: Uint8Array, index: number): KvStateMachine {
  const reference = new KvStateMachine(undefined, { stateStore: new MemoryStateStore() });
  reference.restore(snapshot, index);
  return reference;
}

describe('installing a snapshot on LMDB in bounded batches', () => {
  it('gives the memory backend state, hash and snapshot bytes, in many batches, and after reopen', async () => {
    const path = lmdbPath();
    const lmdb = new KvStateMachine(undefined, { stateStore: openLmdb(path) });
    applyAll(lmdb, workload(120, 30, 'old'));
    const snapshot = leaderSnapshot(workload(2600, 150, 'new'));
    const reference = restoredInMemory(snapshot.bytes, snapshot.index);

    await lmdb.restoreChunks(chunksOf(snapshot.bytes, 333), snapshot.index);
    expect(observed(lmdb)).toEqual(observed(reference));
    expect(hashKeyValues(lmdb.store)).toEqual(hashKeyValues(reference.store));
    expect(Buffer.from(lmdb.snapshot()).equals(Buffer.from(reference.snapshot()))).toBe(true);
    closeLast();

    // The install went to the second set, which the meta record names; the first was emptied.
    // (Its revision log, from the compaction at 650 to about 2,600, spans three blocks.)
    const file = peek(path);
    expect(file.meta.liveSet).toBe(1);
    expect(file.meta.layout).toBe(4);
    expect(setEntries(file.entries, '')).toBe(0);
    expect(file.entries['keys.1']).toBe(reference.store.size);
    const blocks =
      blockOf(reference.store.revision) - blockOf(reference.store.firstChangeRevision) + 1;
    expect(blocks).toBe(3);
    expect(file.entries['changes.1']).toBe(blocks);

    const reopened = new KvStateMachine(undefined, { stateStore: openLmdb(path) });
    expect(reopened.appliedIndex).toBe(snapshot.index);
    expect(observed(reopened)).toEqual(observed(reference));

    // And back to the first set with the next install, which the same commands then extend alike.
    const next = leaderSnapshot(workload(300, 90, 'third'));
    reopened.restore(next.bytes, next.index);
    const nextReference = restoredInMemory(next.bytes, next.index);
    const more = workload(40, 10, 'after');
    applyAll(reopened, more, next.index + 1);
    applyAll(nextReference, more, next.index + 1);
    expect(observed(reopened)).toEqual(observed(nextReference));
    closeLast();
    expect(peek(path).meta.liveSet).toBe(0);
    expect(setEntries(peek(path).entries, '.1')).toBe(0);
  });

  it('cut short after some batches, leaves the old state and hash, and the half-filled set is emptied on open', () => {
    for (const installsBefore of [0, 1]) {
      const path = lmdbPath();
      let lmdb = new KvStateMachine(undefined, { stateStore: openLmdb(path) });
      if (installsBefore === 1) {
        const first = leaderSnapshot(workload(200, 40, 'first'));
        lmdb.restore(first.bytes, first.index);
      }
      const base = installsBefore === 1 ? lmdb.appliedIndex + 1 : 1;
      applyAll(lmdb, workload(150, 40, 'old'), base);
      lmdb.snapshot(); // commits everything: the state the file must keep
      const before = observed(lmdb);
      const liveSuffix = installsBefore === 1 ? '.1' : '';
      const spareSuffix = installsBefore === 1 ? '' : '.1';

      // The install as the state machine runs it, stopped (a crash) after a few batches.
      const store = lmdbStores.latest();
      const install = store.beginInstall() as LmdbSnapshotInstall;
      const decoder = new SnapshotDecoder(new SnapshotRecordCheck(install));
      const snapshot = leaderSnapshot(workload(600, 200, 'new')).bytes;
      for (let at = 0; install.batchesWritten < 3; at += 100) {
        decoder.push(snapshot.subarray(at, at + 100));
      }
      closeLast();
      const crashed = peek(path);
      expect(setEntries(crashed.entries, spareSuffix)).toBeGreaterThanOrEqual(
        3 * SMALL_BATCHES.maxRecords,
      );
      expect(crashed.meta.liveSet ?? 0).toBe(installsBefore);

      lmdb = new KvStateMachine(undefined, { stateStore: openLmdb(path) });
      expect(observed(lmdb)).toEqual(before);
      closeLast();
      const reopened = peek(path);
      expect(setEntries(reopened.entries, spareSuffix)).toBe(0);
      expect(setEntries(reopened.entries, liveSuffix)).toBeGreaterThan(0);
    }
  });

  it('refuses a truncated snapshot stream with a clear error, leaving the live state as it was', async () => {
    const path = lmdbPath();
    const lmdb = new KvStateMachine(undefined, { stateStore: openLmdb(path) });
    const twin = new KvStateMachine(undefined, { stateStore: new MemoryStateStore() });
    const commands = workload(100, 25, 'live');
    let index = applyAll(lmdb, commands);
    applyAll(twin, commands);
    const snapshot = leaderSnapshot(workload(500, 120, 'new')).bytes;
    // Cut in the keys, in the histories, in the revision log, and one byte before the end.
    const cuts = [
      Math.floor(snapshot.length / 5),
      Math.floor(snapshot.length / 2),
      Math.floor((snapshot.length * 4) / 5),
      snapshot.length - 1,
    ];
    for (const cut of cuts) {
      await expect(
        lmdb.restoreChunks(chunksOf(snapshot.subarray(0, cut), 97), 10_000),
      ).rejects.toThrow(new RegExp(`^snapshot ends (after|in)`));
      expect(() => lmdb.restore(snapshot.subarray(0, cut), 10_000)).toThrow(MalformedEncodingError);
      // Uncommitted commands included: the maps were never switched.
      expect(observed(lmdb)).toEqual(observed(twin));
      const more = workload(9, 25, `more${cut}`);
      applyAll(lmdb, more, index + 1);
      index = applyAll(twin, more, index + 1);
    }
    expect(observed(lmdb)).toEqual(observed(twin));
    lmdb.snapshot();
    closeLast();
    expect(setEntries(peek(path).entries, '.1')).toBe(0);
    const reopened = new KvStateMachine(undefined, { stateStore: openLmdb(path) });
    expect(observed(reopened)).toEqual(observed(twin));
  });

  it('refuses records that fail the checks of a whole decode, naming the fault', async () => {
    const path = lmdbPath();
    const lmdb = new KvStateMachine(undefined, { stateStore: openLmdb(path) });
    const twin = new KvStateMachine(undefined, { stateStore: new MemoryStateStore() });
    const commands = workload(60, 20, 'live');
    applyAll(lmdb, commands);
    applyAll(twin, commands);
    const entry = (revision: number): string => packEntry(revision, revision, 1, 'v');
    const auth = new BinaryWriter(64);
    new AuthState().encode(auth);
    const leases = new BinaryWriter(64);
    new LeaseTable().encode(leases);
    const emptyRest = { remembered: [], auth: auth.finishExact(), leases: leases.finishExact() };
    const keysOf = (count: number): string[] =>
      Array.from({ length: count }, (_, at) => `k${String(at).padStart(4, '0')}`);
    const corrupted: [string, Uint8Array, RegExp][] = [
      [
        'keys out of order',
        encode({
          revision: 500,
          keys: [...keysOf(60), 'a'],
          packed: Array.from({ length: 61 }, () => entry(3)),
        }),
        /snapshot keys: keys not strictly ascending at 60/,
      ],
      [
        'a malformed entry',
        encode({
          revision: 500,
          keys: keysOf(61),
          packed: [...Array.from({ length: 60 }, () => entry(3)), '\u0080'],
        }),
        /snapshot keys: malformed entry for key #60/,
      ],
      [
        'a gap in the revision log',
        encode({
          revision: 500,
          keys: keysOf(40),
          packed: Array.from({ length: 40 }, () => entry(3)),
          history: {
            compactRevision: 10,
            keys: [],
            records: [],
            changes: [
              ...Array.from({ length: 40 }, (_, at): [number, string[]] => [10 + at, ['k0001']]),
              [60, ['k0002']],
            ],
          },
        }),
        /snapshot keys: revision log has revision 60 where 50 belongs/,
      ],
      [
        'history records above the snapshot revision',
        encode({
          revision: 500,
          keys: keysOf(40),
          packed: Array.from({ length: 40 }, () => entry(3)),
          history: { compactRevision: 0, keys: ['k0001'], records: [[entry(501)]], changes: [] },
        }),
        /snapshot keys: history records out of order for key #0/,
      ],
    ];
    for (const [what, bytes, message] of corrupted) {
      // The memory backend refuses the same bytes for the same reason.
      expect(() => restoredInMemory(bytes, 9), what).toThrow(message);
      await expect(lmdb.restoreChunks(chunksOf(bytes, 50), 9), what).rejects.toThrow(message);
      expect(observed(lmdb), what).toEqual(observed(twin));
    }
    closeLast();
    expect(setEntries(peek(path).entries, '.1')).toBe(0);

    function encode(view: {
      revision: number;
      keys: string[];
      packed: string[];
      history?: {
        compactRevision: number;
        keys: string[];
        records: (string | number)[][];
        changes: [number, string[]][];
      };
    }): Uint8Array {
      const history = view.history ?? { compactRevision: 0, keys: [], records: [], changes: [] };
      return Buffer.concat([...encodeSnapshot({ ...emptyRest, ...view, history }, Infinity, 64)]);
    }
  });

  it(
    'refuses a snapshot with a flipped byte exactly when the memory backend does, else matches it',
    () => {
      const snapshot = leaderSnapshot(workload(160, 40, 'new'));
      const path = lmdbPath();
      const lmdb = new KvStateMachine(undefined, {
        stateStore: openLmdb(path, { maxRecords: 32, maxBytes: 4096 }),
      });
      const twin = new KvStateMachine(undefined, { stateStore: new MemoryStateStore() });
      const commands = workload(50, 20, 'live');
      let index = applyAll(lmdb, commands);
      applyAll(twin, commands);
      fc.assert(
        fc.property(
          fc.nat(snapshot.bytes.length - 1),
          fc.integer({ min: 1, max: 255 }),
          (at, mask) => {
            const bytes = Buffer.from(snapshot.bytes);
            bytes[at] = (bytes[at] as number) ^ mask;
            let reference: KvStateMachine | undefined;
            try {
              reference = restoredInMemory(bytes, ++index);
            } catch {
              reference = undefined;
            }
            if (reference === undefined) {
              expect(() => lmdb.restore(bytes, index)).toThrow();
              expect(observed(lmdb)).toEqual(observed(twin));
            } else {
              lmdb.restore(bytes, index);
              twin.restore(bytes, index);
              expect(observed(lmdb)).toEqual(observed(reference));
            }
          },
        ),
        { numRuns: 40 },
      );
    },
    FSYNC_BOUND_TIMEOUT_MS,
  );
});

describe('the LMDB state layout', () => {
  it('opens a file of layout 1 (one set, no live set named) and writes layout 4 at the next commit', () => {
    const path = lmdbPath();
    const lmdb = new KvStateMachine(undefined, { stateStore: openLmdb(path) });
    const twin = new KvStateMachine(undefined, { stateStore: new MemoryStateStore() });
    const commands = workload(80, 20, 'k');
    const index = applyAll(lmdb, commands);
    applyAll(twin, commands);
    lmdb.snapshot();
    closeLast();
    // What the code before two sets wrote: no liveSet, a record per logged revision.
    rewriteAsEarlierLayout(path, 1);
    expect(peek(path).meta.liveSet).toBeUndefined();

    const reopened = new KvStateMachine(undefined, { stateStore: openLmdb(path) });
    expect(observed(reopened)).toEqual(observed(twin));
    const more = workload(30, 20, 'k2');
    applyAll(reopened, more, index + 1);
    applyAll(twin, more, index + 1);
    reopened.snapshot();
    expect(observed(reopened)).toEqual(observed(twin));
    closeLast();
    expect(peek(path).meta).toMatchObject({ layout: 4, liveSet: 0 });
  });

  it('empties on open a set the meta record does not name, whatever it holds', () => {
    const path = lmdbPath();
    const lmdb = new KvStateMachine(undefined, { stateStore: openLmdb(path) });
    applyAll(lmdb, workload(60, 20, 'k'));
    lmdb.snapshot();
    const expected = observed(lmdb);
    closeLast();
    // As a crash between an install's flip and the commit that empties the old set leaves it.
    const root = open({ path, maxDbs: 12 });
    for (const base of DATA_DATABASES) {
      const db = root.openDB<Buffer, Buffer>({
        name: `${base}.1`,
        encoding: 'binary',
        keyEncoding: 'binary',
      });
      for (let at = 0; at < 50; at++) db.putSync(Buffer.from(`junk ${at}`), Buffer.from('x'));
    }
    void root.close();
    expect(setEntries(peek(path).entries, '.1')).toBe(200);

    const reopened = new KvStateMachine(undefined, { stateStore: openLmdb(path) });
    expect(observed(reopened)).toEqual(expected);
    closeLast();
    expect(setEntries(peek(path).entries, '.1')).toBe(0);
  });

  it('refuses a layout it does not know', () => {
    const path = lmdbPath();
    new KvStateMachine(undefined, { stateStore: openLmdb(path) }).snapshot();
    closeLast();
    const root = open({ path, maxDbs: 12 });
    const meta = root.openDB<Record<string, unknown>, string>({
      name: 'meta',
      encoding: 'msgpack',
    });
    meta.putSync('state', { ...(meta.get('state') as Record<string, unknown>), layout: 5 });
    void root.close();
    expect(() => openLmdb(path)).toThrow(/LMDB state layout 5, expected one of 1, 2, 3, 4/);
  });
});
