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
 */

import { statSync } from 'node:fs';
import type { Database, RootDatabase, Transaction } from 'lmdb';
import { open } from 'lmdb';
import type { KeyHistory } from './key-history.js';
import type { KvStoreMaps } from './kv-store.js';
import { INITIAL_REVISION } from './kv-store.js';
import { LmdbKeyMap } from './lmdb-key-map.js';
import { LmdbRevisionLog } from './lmdb-revision-log.js';
import { keyHistoryCodec, leaseIdCodec, packedEntryCodec } from './lmdb-value-codecs.js';
import type { StreamedEntries } from './kv-snapshot-codec.js';
import type { PackedEntry } from './packed-entry.js';
import type { CapturedState, RecoveredState, StateStore, StoreDiskUsage } from './state-store.js';

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

/** The layout version of what this store writes; a store of another version is refused. */
const LAYOUT_VERSION = 1;
const STATE_KEY = 'state';

/** What the meta database holds under {@link STATE_KEY}. */
interface StoredState {
  layout: number;
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
  keyCount: number;
  historyKeyCount: number;
  entryLeaseCount: number;
}

/** The LMDB state store (see the module comment). */
export class LmdbStateStore implements StateStore {
  readonly backend = 'lmdb';
  readonly maps: KvStoreMaps;
  readonly recovered: RecoveredState | undefined;
  readonly #root: RootDatabase;
  readonly #meta: Database<StoredState, string>;
  readonly #keys: LmdbKeyMap<PackedEntry>;
  readonly #history: LmdbKeyMap<KeyHistory>;
  readonly #entryLeases: LmdbKeyMap<string>;
  /** The revision log: revision (8 bytes, big-endian) to the keys it changed. */
  readonly #changes: LmdbRevisionLog;
  readonly #policy: LmdbCommitPolicy;
  #pendingCommands = 0;
  #closed = false;
  readonly #path: string;
  /** Every named database, for their page counts (see {@link LmdbStateStore.diskUsage}). */
  readonly #databases: { getStats(): unknown }[] = [];

  /**
   * Opens (or creates) the store in the file `path` (LMDB adds `path-lock`).
   *
   * @throws Error if the file is not an LMDB environment or holds another layout version.
   */
  constructor(path: string, policy: LmdbCommitPolicy = DEFAULT_LMDB_COMMIT_POLICY) {
    this.#policy = policy;
    this.#path = path;
    // overlappingSync off: a synchronous commit returns only once it is on disk.
    this.#root = open({ path, maxDbs: 8, overlappingSync: false, noSync: false, cache: false });
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
    if (stored !== undefined && stored.layout !== LAYOUT_VERSION) {
      void this.#root.close();
      throw new Error(`${path}: LMDB state layout ${stored.layout}, expected ${LAYOUT_VERSION}`);
    }
    this.#keys = new LmdbKeyMap(named('keys'), packedEntryCodec, stored?.keyCount ?? 0);
    this.#history = new LmdbKeyMap(named('history'), keyHistoryCodec, stored?.historyKeyCount ?? 0);
    this.#entryLeases = new LmdbKeyMap(
      named('entry-leases'),
      leaseIdCodec,
      stored?.entryLeaseCount ?? 0,
    );
    const changes = named('changes');
    const firstChangeRevision = stored?.firstChangeRevision ?? INITIAL_REVISION + 1;
    this.#changes = new LmdbRevisionLog(
      changes,
      stored?.changeCount === undefined
        ? LmdbRevisionLog.countStored(changes, firstChangeRevision)
        : {
            firstRevision: firstChangeRevision,
            lastRevision: stored.loggedThrough,
            changeCount: stored.changeCount,
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
      layout: LAYOUT_VERSION,
      keyCount: this.#keys.size,
      historyKeyCount: this.#history.size,
      entryLeaseCount: this.#entryLeases.size,
    };
    this.#root.transactionSync(() => {
      this.#keys.writePending();
      this.#history.writePending();
      this.#entryLeases.writePending();
      this.#changes.writePending();
      void this.#meta.put(STATE_KEY, state);
    });
    this.#changes.committed();
    this.#keys.committed();
    this.#history.committed();
    this.#entryLeases.committed();
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
    return {
      keyCount: stored?.keyCount ?? 0,
      // A packed entry's stored bytes are the entry itself (`packedEntryCodec`).
      keys: () => this.#keys.committedBytes(transaction),
      historyKeyCount: stored?.historyKeyCount ?? 0,
      histories: () => this.#history.committedEntries(transaction),
      revisionCount:
        stored === undefined
          ? 0
          : Math.max(0, stored.loggedThrough - stored.firstChangeRevision + 1),
      changes: () => this.#changes.committedEncodedRevisions(transaction),
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
