/**
 * The revision log on LMDB across restarts: a reopened store reads past revisions from disk (a
 * watch from an old revision, ranges at past revisions) and compacts what the earlier process
 * logged, answering as a memory store that never restarted; a file from before the log's change
 * count was saved opens too.
 */

import { open } from 'lmdb';
import { describe, expect, it } from 'vitest';
import type { KvCommand } from '../codec/command-codec.js';
import { encodeCommand } from '../codec/command-codec.js';
import type { WatchMessage, WatchRequest } from '../watch/watch-hub.js';
import { WatchHub } from '../watch/watch-hub.js';
import { hashKeyValues } from './kv-hash.js';
import type { CompactionDiskReport } from './kv-state-machine.js';
import { KvStateMachine } from './kv-state-machine.js';
import { rangeRequest } from './kv-types.js';
import { LmdbRevisionLog } from './lmdb-revision-log.js';
import type { LmdbStateStore } from './lmdb-state-store.js';
import { CompactedRevisionError } from './revision-errors.js';
import { RevisionLog } from './revision-log.js';
import { MemoryStateStore } from './state-store.js';
import { rewriteAsEarlierLayout } from '../../test/support/lmdb-earlier-layout.js';
import { temporaryLmdbStores } from '../../test/support/temporary-lmdb.js';

/** Commits often, so most of the log is on disk, and some of it pending, when the store closes. */
const POLICY = { maxPendingKeys: 50, maxPendingCommands: 37 };

const lmdbStores = temporaryLmdbStores('kv-revision-log-');
const lmdbPath = lmdbStores.path;

function openLmdb(path: string): LmdbStateStore {
  return lmdbStores.open(path, POLICY);
}

/** Puts over a few keys (so keys have histories), deletes and multi-key transactions. */
function workload(count: number): KvCommand[] {
  const commands: KvCommand[] = [];
  for (let index = 0; index < count; index++) {
    const key = `key/${index % 23}`;
    if (index % 11 === 10) {
      commands.push({ type: 'deleteRange', request: { key, rangeEnd: '', prevKv: false } });
    } else if (index % 7 === 6) {
      commands.push({
        type: 'txn',
        request: {
          compare: [],
          success: [
            { type: 'put', request: { key, value: `t${index}`, prevKv: false } },
            { type: 'put', request: { key: `other/${index % 5}`, value: 'o', prevKv: false } },
          ],
          failure: [],
        },
      });
    } else {
      commands.push({
        type: 'put',
        request: { key, value: `value ${index} `.repeat(20), prevKv: false },
      });
    }
  }
  return commands;
}

/** A log applied to a machine; returns the log's bytes. */
function applyAll(machine: KvStateMachine, commands: KvCommand[], from = 1): Uint8Array[] {
  const log = commands.map((command) => encodeCommand(command));
  log.forEach((bytes, at) => machine.apply(from + at, bytes));
  return log;
}

const watchAll: WatchRequest = {
  key: '\0',
  rangeEnd: '\0',
  startRevision: 0,
  prevKv: true,
  noPut: false,
  noDelete: false,
  progressNotify: false,
};

/** The events a watch from `startRevision` reports up to the store's revision. */
function watchFrom(machine: KvStateMachine, startRevision: number): WatchMessage[] {
  const tasks: (() => void)[] = [];
  const hub = new WatchHub(machine.store, {
    queueCapacity: 1_000_000,
    schedule: (task) => tasks.push(task),
  });
  const watcher = hub.watch({ ...watchAll, startRevision }, () => undefined);
  const messages: WatchMessage[] = [];
  for (let turn = 0; turn < 1000; turn++) {
    while (tasks.length > 0) (tasks.shift() as () => void)();
    for (let message = watcher.take(); message !== undefined; message = watcher.take()) {
      messages.push(message);
    }
    if (watcher.synced && tasks.length === 0) break;
  }
  hub.close();
  return messages;
}

describe('the revision log on LMDB across restarts', () => {
  it('a watch from an old revision after reopen reports what a memory store reports', () => {
    const path = lmdbPath();
    const memory = new KvStateMachine(undefined, { stateStore: new MemoryStateStore() });
    const lmdb = new KvStateMachine(undefined, { stateStore: openLmdb(path) });
    const commands = workload(400);
    applyAll(memory, commands);
    applyAll(lmdb, commands);
    lmdb.close();
    lmdbStores.forgetLatest();

    const reopened = new KvStateMachine(undefined, { stateStore: openLmdb(path) });
    // Commands after the last commit are replayed from the log, as a node does on restart.
    const log = commands.map((command) => encodeCommand(command));
    log.forEach((bytes, at) => reopened.apply(at + 1, bytes, false));
    expect(reopened.store.revision).toBe(memory.store.revision);
    expect(reopened.store.historyChangeCount).toBe(memory.store.historyChangeCount);
    const expected = watchFrom(memory, 2);
    expect(expected.length).toBeGreaterThan(100);
    expect(watchFrom(reopened, 2)).toEqual(expected);
    expect(watchFrom(reopened, 300)).toEqual(watchFrom(memory, 300));
    for (const revision of [2, 57, 200, memory.store.revision - 1]) {
      const all = rangeRequest('', { rangeEnd: '\0' });
      expect(reopened.store.range(all, revision)).toEqual(memory.store.range(all, revision));
    }
  });

  it('compaction after reopen drops what the earlier process logged, and stays dropped', () => {
    const path = lmdbPath();
    const memory = new KvStateMachine(undefined, { stateStore: new MemoryStateStore() });
    const lmdb = new KvStateMachine(undefined, { stateStore: openLmdb(path) });
    const commands = workload(600);
    applyAll(memory, commands);
    applyAll(lmdb, commands);
    lmdb.close();
    lmdbStores.forgetLatest();

    const reports: CompactionDiskReport[] = [];
    const reopened = new KvStateMachine(undefined, {
      stateStore: openLmdb(path),
      onCompacted: (report) => reports.push(report),
    });
    const log = commands.map((command) => encodeCommand(command));
    log.forEach((bytes, at) => reopened.apply(at + 1, bytes, false));
    const compactAt = memory.store.revision - 10;
    const compact: KvCommand = {
      type: 'maintenance',
      request: { kind: 'compact', revision: compactAt, physical: false },
    };
    const next = log.length + 1;
    expect(reopened.apply(next, encodeCommand(compact))).toEqual(
      memory.apply(next, encodeCommand(compact)),
    );

    // The compaction committed at once and freed the pages of the values it dropped.
    expect(reports).toHaveLength(1);
    const [report] = reports as [CompactionDiskReport];
    expect(report.revision).toBe(compactAt);
    expect(report.after.inUseBytes).toBeLessThan(report.before.inUseBytes);
    expect(report.after.inUseBytes).toBeLessThanOrEqual(report.after.fileBytes);

    reopened.close();
    lmdbStores.forgetLatest();
    const again = new KvStateMachine(undefined, { stateStore: openLmdb(path) });
    expect(again.appliedIndex).toBe(next);
    expect(again.store.compactRevision).toBe(compactAt);
    expect(again.store.firstChangeRevision).toBe(memory.store.firstChangeRevision);
    expect(again.store.historyChangeCount).toBe(memory.store.historyChangeCount);
    expect(again.store.historyKeyCount).toBe(memory.store.historyKeyCount);
    expect(again.store.accountedBytes).toBe(memory.store.accountedBytes);
    expect(hashKeyValues(again.store)).toEqual(hashKeyValues(memory.store));
    expect(again.store.changesAt(compactAt - 1)).toEqual([]);
    for (let revision = compactAt; revision <= memory.store.revision; revision++) {
      expect(again.store.changesAt(revision)).toEqual(memory.store.changesAt(revision));
    }
    expect(() => again.store.range(rangeRequest('key/1'), compactAt - 1)).toThrow(
      CompactedRevisionError,
    );
    expect(watchFrom(again, compactAt)).toEqual(watchFrom(memory, compactAt));
    expect(Buffer.from(again.snapshot()).equals(Buffer.from(memory.snapshot()))).toBe(true);
  });

  it('reads, watches and compacts across blocks and the records of an earlier layout as memory does', () => {
    const path = lmdbPath();
    const memory = new KvStateMachine(undefined, { stateStore: new MemoryStateStore() });
    let lmdb = new KvStateMachine(undefined, { stateStore: openLmdb(path) });
    // More than two blocks of revisions (1,024 each), written as layout 2 wrote them.
    const first = workload(2300);
    applyAll(memory, first);
    applyAll(lmdb, first);
    let index = first.length;
    lmdb.snapshot();
    lmdb.close();
    lmdbStores.forgetLatest();
    rewriteAsEarlierLayout(path, 2);
    lmdb = new KvStateMachine(undefined, { stateStore: openLmdb(path) });
    // Then more blocks in the new layout, committed now and then (the policy).
    const more = workload(3000);
    applyAll(memory, more, index + 1);
    applyAll(lmdb, more, index + 1);
    index += more.length;
    expect(watchFrom(lmdb, 2)).toEqual(watchFrom(memory, 2));
    // Inside the earlier records, at the start of a block, inside one, at its last revision, all.
    const revision = memory.store.revision;
    for (const compactAt of [700, 2048, 3000, 4095, 4600, revision - 3, revision]) {
      const compact = encodeCommand({
        type: 'maintenance',
        request: { kind: 'compact', revision: compactAt, physical: false },
      });
      index++;
      expect(lmdb.apply(index, compact)).toEqual(memory.apply(index, compact));
      if (compactAt === 3000) {
        // Reopened between compactions: what the commit left is what the next one starts from.
        lmdb.close();
        lmdbStores.forgetLatest();
        lmdb = new KvStateMachine(undefined, { stateStore: openLmdb(path) });
      }
      const tail = workload(40);
      applyAll(memory, tail, index + 1);
      applyAll(lmdb, tail, index + 1);
      index += tail.length;
      expect(lmdb.store.historyChangeCount).toBe(memory.store.historyChangeCount);
      expect(lmdb.store.accountedBytes).toBe(memory.store.accountedBytes);
      expect(watchFrom(lmdb, compactAt)).toEqual(watchFrom(memory, compactAt));
      expect(Buffer.from(lmdb.snapshot()).equals(Buffer.from(memory.snapshot()))).toBe(true);
    }
    lmdb.close();
    lmdbStores.forgetLatest();
    const again = new KvStateMachine(undefined, { stateStore: openLmdb(path) });
    expect(hashKeyValues(again.store)).toEqual(hashKeyValues(memory.store));
    expect(watchFrom(again, again.store.compactRevision)).toEqual(
      watchFrom(memory, memory.store.compactRevision),
    );
  }, 120_000);

  it('a file written before the change count was saved is counted once on open', () => {
    const path = lmdbPath();
    const memory = new KvStateMachine(undefined, { stateStore: new MemoryStateStore() });
    const lmdb = new KvStateMachine(undefined, { stateStore: openLmdb(path) });
    const commands = workload(150);
    applyAll(memory, commands);
    applyAll(lmdb, commands);
    lmdb.snapshot(); // commits everything
    lmdb.close();
    lmdbStores.forgetLatest();
    // The earlier layout: the same meta record without the change count.
    const root = open({ path, maxDbs: 8 });
    const meta = root.openDB<Record<string, unknown>, string>({
      name: 'meta',
      encoding: 'msgpack',
    });
    const { changeCount, ...earlier } = meta.get('state') as Record<string, unknown>;
    expect(changeCount).toBe(memory.store.historyChangeCount);
    meta.putSync('state', earlier);
    void root.close();

    const reopened = new KvStateMachine(undefined, { stateStore: openLmdb(path) });
    expect(reopened.store.historyChangeCount).toBe(memory.store.historyChangeCount);
    expect(reopened.store.firstChangeRevision).toBe(memory.store.firstChangeRevision);
    expect(watchFrom(reopened, 2)).toEqual(watchFrom(memory, 2));
  });

  it('lists, from the oldest kept revision on, what a heap log lists, before a compaction commits and after', () => {
    const root = open({ path: lmdbPath(), maxDbs: 2 });
    try {
      const db = root.openDB<Buffer, Buffer>({
        name: 'changes',
        encoding: 'binary',
        keyEncoding: 'binary',
      });
      const lmdb = new LmdbRevisionLog(db, {
        firstRevision: 2,
        lastRevision: 1,
        changeCount: 0,
        ownRecordsThrough: 0,
      });
      const heap = new RevisionLog(2);
      const listed = (log: { forEachRevision: RevisionLog['forEachRevision'] }) => {
        const revisions: [number, string[]][] = [];
        log.forEachRevision((revision, keys) => revisions.push([revision, keys]));
        return revisions;
      };
      const commit = (): void => {
        root.transactionSync(() => lmdb.writePending());
        lmdb.committed();
      };
      for (let revision = 2; revision <= 60; revision++) {
        for (const log of [lmdb, heap]) {
          log.record(revision, `key/${revision % 7}`);
          if (revision % 3 === 0) log.record(revision, `other/${revision}`);
        }
        if (revision === 40) commit();
      }
      // Dropped from LMDB only at the next commit: listed neither before it nor after.
      const droppedLmdb: string[] = [];
      const droppedHeap: string[] = [];
      lmdb.dropThrough(25, (key) => droppedLmdb.push(key));
      heap.dropThrough(25, (key) => droppedHeap.push(key));
      expect(droppedLmdb).toEqual(droppedHeap);
      expect(listed(lmdb)).toEqual(listed(heap));
      commit();
      expect(listed(lmdb)).toEqual(listed(heap));
      expect(lmdb.changeCount).toBe(heap.changeCount);
    } finally {
      void root.close();
    }
  });
});
