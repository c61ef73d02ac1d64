/**
 * The state store on LMDB (see `state-store.ts`): the live keys, each key's superseded records,
 * the leases of past entries and the revision log (`lmdb-revision-log.ts`) in LMDB databases of
 * their own, and in a meta database, committed in the same transaction, the log index they
 * cover and the rest of the state machine's state. A restarted node reads that index and needs
 * only the log after it; it reads neither the keys nor the history until they are asked for.
 *
 * Durability: each commit is one LMDB write transaction, flushed to disk (fdatasync) before it
 * returns; LMDB never overwrites the pages the last commit reached, so a crash leaves the last
 * committed state. Commands applied since sit only in memory, and the replicated log, made
 * durable before they were applied, holds them (the argument in full: docs/design.md).
 *
 * The data databases come in two sets (`keys`, `history`, `entry-leases`, `changes`, and the
 * same names suffixed `.1`); the meta record names the live one. A snapshot is installed into
 * the other a batch at a time (`lmdb-snapshot-install.ts`) and becomes live with the commit that
 * writes the meta record naming it; the old set is emptied by the commit after. A set the meta
 * record does not name is emptied on open.
 *
 * The idempotency table is kept as records of its own, one per remembered id, in a database
 * beside the sets (`lmdb-remembered-records.ts`): a commit writes the ids remembered since the
 * last one and deletes the expired ones, instead of encoding the whole table into the rest.
 */

import { statSync } from 'node:fs';
import type { Database, RootDatabase, Transaction } from 'lmdb';
import { open } from 'lmdb';
import type { KeyHistory } from './key-history.js';
import type { KvStoreMaps } from './kv-store.js';
import { INITIAL_REVISION } from './kv-store.js';
import { LmdbKeyMap } from './lmdb-key-map.js';
import { LmdbRememberedRecords } from './lmdb-remembered-records.js';
import { LmdbRevisionLog } from './lmdb-revision-log.js';
import type { InstallBatchLimits, LmdbDataSet } from './lmdb-snapshot-install.js';
import {
  DEFAULT_INSTALL_BATCH,
  emptyDataSet,
  LmdbSnapshotInstall,
} from './lmdb-snapshot-install.js';
import { keyHistoryCodec, leaseIdCodec, packedEntryCodec } from './lmdb-value-codecs.js';
import type { StreamedEntries } from './kv-snapshot-codec.js';
import type { PackedEntry } from './packed-entry.js';
import type {
  CapturedState,
  InstalledMaps,
  RecoveredState,
  StateInstall,
  StateStore,
  StoreDiskUsage,
} from './state-store.js';

/** When an {@link LmdbStateStore} commits on its own, besides before snapshots. */
export interface LmdbCommitPolicy {
  /** Commit once this many keys and histories changed since the last commit (default 10,000). */
  maxPendingKeys: number;
  /** Commit once this many commands were applied since the last commit (default 10,000). */
  maxPendingCommands: number;
}

/** The default {@link LmdbCommitPolicy}: a commit per about 10,000 writes. */
export const DEFAULT_LMDB_COMMIT_POLICY: LmdbCommitPolicy = {
  maxPendingKeys: 10_000,
  maxPendingCommands: 10_000,
};

/** LMDB's page counts of one database (`mdb_stat`), as `lmdb`'s `getStats` returns them. */
interface PageStats {
  pageSize: number;
  treeBranchPageCount: number;
  treeLeafPageCount: number;
  overflowPages: number;
}

/** The pages a database's tree occupies. */
function pagesOf(stats: PageStats): number {
  return stats.treeBranchPageCount + stats.treeLeafPageCount + stats.overflowPages;
}

/**
 * The layout version of what this store writes. 2: two sets of data databases, the live one
 * named in the meta record. 3: the revision log in blocks of revisions (`revision-blocks.ts`),
 * the revisions stored one record each by layouts 1 and 2 still read (`ownChangesThrough`).
 * 4: the idempotency table as records of its own (`lmdb-remembered-records.ts`), not in the
 * rest. Versions 1 (one set, no `liveSet`: its first set), 2 and 3 (the table in the rest) are
 * read too, and written as 4 by the next commit; any other version is refused, as version 4 is
 * by code that knows only 1 to 3.
 */
const LAYOUT_VERSION = 4;
const READABLE_LAYOUTS: readonly number[] = [1, 2, 3, LAYOUT_VERSION];
const STATE_KEY = 'state';

/** The two sets' database names: the first set's as before there were two. */
const SET_SUFFIXES = ['', '.1'] as const;
type SetIndex = 0 | 1;

/** What the meta database holds under {@link STATE_KEY}. */
interface StoredState {
  layout: number;
  /** Which set of data databases holds the state; absent in layout 1 (the first). */
  liveSet?: SetIndex;
  appliedIndex: number;
  accountedBytes: number;
  rest: Uint8Array;
  /** The revision log's first revision, and the last one the changes database holds. */
  firstChangeRevision: number;
  loggedThrough: number;
  /**
   * The number of key changes the changes database holds; absent in files written before the
   * log stayed on disk (counted once on open).
   */
  changeCount?: number;
  /**
   * The newest revision the live set's revision log stores in a record of its own, not in a
   * block (layout 3; in layouts 1 and 2 every stored revision is).
   */
  ownChangesThrough?: number;
  keyCount: number;
  historyKeyCount: number;
  entryLeaseCount: number;
  /**
   * The idempotency table's first and next numbers, when its records hold it (layout 4); absent
   * when the rest does.
   */
  rememberedFirst?: number;
  rememberedNext?: number;
}

/** The LMDB state store (see the module comment). */
export class LmdbStateStore implements StateStore {
  readonly backend = 'lmdb';
  readonly maps: KvStoreMaps;
  readonly recovered: RecoveredState | undefined;
  readonly keepsRememberedRecords = true;
  readonly #root: RootDatabase;
  readonly #meta: Database<StoredState, string>;
  readonly #keys: LmdbKeyMap<PackedEntry>;
  readonly #history: LmdbKeyMap<KeyHistory>;
  readonly #entryLeases: LmdbKeyMap<string>;
  /** The revision log: revision (8 bytes, big-endian) to the keys it changed. */
  readonly #changes: LmdbRevisionLog;
  readonly #remembered: LmdbRememberedRecords;
  readonly #policy: LmdbCommitPolicy;
  readonly #installBatch: InstallBatchLimits;
  #pendingCommands = 0;
  #closed = false;
  readonly #path: string;
  /** Every named database, for their page counts (see {@link LmdbStateStore.diskUsage}). */
  readonly #databases: { getStats(): unknown }[] = [];
  /** The two sets of data databases (see the module comment). */
  readonly #sets: readonly [LmdbDataSet, LmdbDataSet];
  /** The set the maps read, which the next commit names in the meta record. */
  #liveSet: SetIndex;
  /** A set that held the state before an install: emptied by the commit after the flip. */
  #retiredSet: SetIndex | undefined;
  /** The install under way, if any: at most one at a time. */
  #install: LmdbSnapshotInstall | undefined;

  /**
   * Opens (or creates) the store in the file `path` (LMDB adds `path-lock`).
   *
   * @param path the file.
   * @param policy when to commit.
   * @param installBatch how large each write transaction of a snapshot install grows.
   * @throws Error if the file is not an LMDB environment or holds another layout version.
   */
  constructor(
    path: string,
    policy: LmdbCommitPolicy = DEFAULT_LMDB_COMMIT_POLICY,
    installBatch: InstallBatchLimits = DEFAULT_INSTALL_BATCH,
  ) {
    this.#policy = policy;
    this.#installBatch = installBatch;
    this.#path = path;
    // overlappingSync off: a synchronous commit returns only once it is on disk.
    this.#root = open({ path, maxDbs: 12, overlappingSync: false, noSync: false, cache: false });
    this.#meta = this.#root.openDB<StoredState, string>({ name: 'meta', encoding: 'msgpack' });
    const named = (name: string): Database<Buffer, Buffer> => {
      const db = this.#root.openDB<Buffer, Buffer>({
        name,
        encoding: 'binary',
        keyEncoding: 'binary',
      });
      this.#databases.push(db);
      return db;
    };
    this.#databases.push(this.#meta);
    const stored = this.#meta.get(STATE_KEY);
    if (stored !== undefined && !READABLE_LAYOUTS.includes(stored.layout)) {
      void this.#root.close();
      throw new Error(
        `${path}: LMDB state layout ${stored.layout}, expected one of ${READABLE_LAYOUTS.join(', ')}`,
      );
    }
    const setNamed = (suffix: string): LmdbDataSet => ({
      keys: named(`keys${suffix}`),
      history: named(`history${suffix}`),
      entryLeases: named(`entry-leases${suffix}`),
      changes: named(`changes${suffix}`),
    });
    this.#sets = [setNamed(SET_SUFFIXES[0]), setNamed(SET_SUFFIXES[1])];
    const rememberedFirst = stored?.layout === LAYOUT_VERSION ? stored.rememberedFirst : undefined;
    this.#remembered = new LmdbRememberedRecords(
      named('remembered'),
      rememberedFirst === undefined ? 0 : (stored?.rememberedNext ?? 0),
    );
    this.#liveSet = stored?.liveSet ?? 0;
    // An install cut short, or an old set not yet emptied: no meta record points at it.
    emptyDataSet(this.#root, this.#sets[spareOf(this.#liveSet)]);
    const live = this.#sets[this.#liveSet];
    this.#keys = new LmdbKeyMap(live.keys, packedEntryCodec, stored?.keyCount ?? 0);
    this.#history = new LmdbKeyMap(live.history, keyHistoryCodec, stored?.historyKeyCount ?? 0);
    this.#entryLeases = new LmdbKeyMap(
      live.entryLeases,
      leaseIdCodec,
      stored?.entryLeaseCount ?? 0,
    );
    const changes = live.changes;
    const firstChangeRevision = stored?.firstChangeRevision ?? INITIAL_REVISION + 1;
    this.#changes = new LmdbRevisionLog(
      changes,
      stored?.changeCount === undefined
        ? LmdbRevisionLog.countStored(changes, firstChangeRevision)
        : {
            firstRevision: firstChangeRevision,
            lastRevision: stored.loggedThrough,
            changeCount: stored.changeCount,
            ownRecordsThrough:
              stored.layout < 3 ? stored.loggedThrough : (stored.ownChangesThrough ?? 0),
          },
    );
    this.maps = {
      keys: this.#keys,
      history: this.#history,
      entryLeases: this.#entryLeases,
      changes: this.#changes,
    };
    this.recovered =
      stored === undefined
        ? undefined
        : {
            appliedIndex: stored.appliedIndex,
            accountedBytes: stored.accountedBytes,
            rest: stored.rest,
            ...(rememberedFirst === undefined
              ? {}
              : { remembered: this.#remembered.read(rememberedFirst) }),
          };
  }

  /** Number of keys and histories changed since the last commit. */
  get pendingKeys(): number {
    return this.#keys.pendingCount + this.#history.pendingCount + this.#entryLeases.pendingCount;
  }

  applied(capture: () => CapturedState): void {
    this.#pendingCommands++;
    if (
      this.#pendingCommands >= this.#policy.maxPendingCommands ||
      this.pendingKeys >= this.#policy.maxPendingKeys
    ) {
      this.commit(capture);
    }
  }

  /**
   * Commits everything applied since the last commit, with the meta record naming the live set:
   * after an install was adopted, this is the flip, and a second transaction then empties the
   * set that held the state before (a crash between the two leaves it for the next open).
   */
  commit(capture: () => CapturedState): void {
    if (this.#closed) throw new Error('the LMDB state store is closed');
    const captured = capture();
    const log = this.#changes.afterCommit;
    const state: StoredState = {
      appliedIndex: captured.appliedIndex,
      accountedBytes: captured.accountedBytes,
      rest: captured.rest,
      firstChangeRevision: log.firstRevision,
      loggedThrough: log.lastRevision,
      changeCount: log.changeCount,
      ownChangesThrough: log.ownRecordsThrough,
      layout: LAYOUT_VERSION,
      liveSet: this.#liveSet,
      keyCount: this.#keys.size,
      historyKeyCount: this.#history.size,
      entryLeaseCount: this.#entryLeases.size,
    };
    const remembered = captured.remembered;
    if (remembered !== undefined) {
      state.rememberedFirst = remembered.firstSequence;
      state.rememberedNext = remembered.nextSequence;
    }
    this.#root.transactionSync(() => {
      this.#keys.writePending();
      this.#history.writePending();
      this.#entryLeases.writePending();
      this.#changes.writePending();
      this.#remembered.writeChanges(remembered);
      void this.#meta.put(STATE_KEY, state);
    });
    this.#remembered.committed(remembered);
    this.#changes.committed();
    this.#keys.committed();
    this.#history.committed();
    this.#entryLeases.committed();
    this.#pendingCommands = 0;
    const retired = this.#retiredSet;
    if (retired !== undefined) {
      emptyDataSet(this.#root, this.#sets[retired]);
      this.#retiredSet = undefined;
    }
  }

  /**
   * Starts installing a snapshot into the set the meta record does not name (emptied first, as
   * a previous install cut short may have left it), in batches of `installBatch`. Commands may
   * keep applying and committing to the live set meanwhile; {@link StateInstall.adopt} switches
   * the maps to the new set and the next commit makes it the live one.
   */
  beginInstall(): StateInstall {
    if (this.#closed) throw new Error('the LMDB state store is closed');
    if (this.#install !== undefined) throw new Error('a snapshot install is already under way');
    if (this.#retiredSet !== undefined) {
      // An adopted install not yet committed: its set is the live one now, the other awaits
      // emptying; commit first.
      throw new Error('the previous snapshot install is not committed yet');
    }
    const spare = spareOf(this.#liveSet);
    const set = this.#sets[spare];
    emptyDataSet(this.#root, set);
    const install = new LmdbSnapshotInstall(this.#root, set, this.#installBatch, {
      adopted: (installed) => {
        this.#install = undefined;
        this.#adopt(spare, installed);
      },
      abandoned: () => {
        this.#install = undefined;
      },
    });
    this.#install = install;
    return install;
  }

  /** Points the maps at set `index`, which holds `installed`: the next commit flips to it. */
  #adopt(index: SetIndex, installed: InstalledMaps): void {
    const set = this.#sets[index];
    this.#keys.switchTo(set.keys, installed.keyCount);
    this.#history.switchTo(set.history, installed.historyKeyCount);
    // Entry-lease notes are not in snapshots: the state machine notes the current ones again.
    this.#entryLeases.switchTo(set.entryLeases, 0);
    this.#changes.switchTo(set.changes, {
      firstRevision: installed.firstChangeRevision,
      lastRevision: installed.lastChangeRevision,
      changeCount: installed.changeCount,
      // An install writes blocks only.
      ownRecordsThrough: 0,
    });
    this.#retiredSet = this.#liveSet;
    this.#liveSet = index;
    this.#pendingCommands = 0;
  }

  /**
   * The committed keys, histories and revision log in one LMDB read transaction, read lazily as a snapshot is
   * encoded: what they hold does not change while commands keep applying and committing, and
   * writers never wait for the reader. Commit first for the latest state. The transaction ends
   * when the encoding calls `release` (LMDB cannot reuse the pages it sees until then).
   */
  openCommittedEntries(): StreamedEntries {
    const transaction: Transaction = this.#root.useReadTransaction();
    const stored = this.#meta.get(STATE_KEY, { transaction });
    let released = false;
    // Bound now to the databases the maps read (those of the live set, just committed), in
    // case a snapshot install switches the maps before the encoding reaches them.
    const keys = this.#keys.committedBytes(transaction);
    const histories = this.#history.committedEntries(transaction);
    const changes = this.#changes.committedEncodedRevisions(transaction);
    return {
      keyCount: stored?.keyCount ?? 0,
      // A packed entry's stored bytes are the entry itself (`packedEntryCodec`).
      keys: () => keys,
      historyKeyCount: stored?.historyKeyCount ?? 0,
      histories: () => histories,
      revisionCount:
        stored === undefined
          ? 0
          : Math.max(0, stored.loggedThrough - stored.firstChangeRevision + 1),
      changes: () => changes,
      release: () => {
        if (released) return;
        released = true;
        transaction.done();
      },
    };
  }

  /**
   * The file's size and what LMDB's trees use of it, as of the last commit (etcd's `dbSize` and
   * `dbSizeInUse`): LMDB never shrinks its file; the pages a commit frees (compaction's deletes)
   * go to its free list and are reused by later commits, so the in-use figure drops at once and
   * the file stops growing until it is reached again.
   */
  diskUsage(): StoreDiskUsage {
    const file = statSync(this.#path);
    const root = this.#root.getStats() as PageStats & { free?: PageStats };
    // The two meta pages, the root tree naming the databases, the free list's own tree, and
    // each database's tree.
    let pages = 2 + pagesOf(root) + (root.free === undefined ? 0 : pagesOf(root.free));
    for (const db of this.#databases) pages += pagesOf(db.getStats() as PageStats);
    return {
      fileBytes: file.size,
      allocatedBytes: file.blocks * 512,
      inUseBytes: pages * root.pageSize,
    };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    void this.#root.close();
  }
}

function spareOf(index: SetIndex): SetIndex {
  return index === 0 ? 1 : 0;
}
