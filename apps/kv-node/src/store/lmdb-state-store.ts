/**
 * The state store on LMDB (see `state-store.ts`): the live keys and the history in two LMDB
 * databases, and in a third, committed in the same transaction, the log index they cover and
 * the rest of the state machine's state. A restarted node reads that index and needs only the
 * log after it.
 *
 * Durability: each commit is one LMDB write transaction, flushed to disk (fdatasync) before it
 * returns; LMDB never overwrites the pages the last commit reached, so a crash leaves the last
 * committed state. Commands applied since sit only in memory, and the replicated log, made
 * durable before they were applied, holds them (the argument in full: docs/design.md).
 */

import type { Database, RootDatabase, Transaction } from 'lmdb';
import { open } from 'lmdb';
import type { KeyHistory } from './key-history.js';
import { BinaryReader } from '../codec/binary-reader.js';
import { BinaryWriter } from '../codec/binary-writer.js';
import type { ByteString } from './byte-string.js';
import type { KvStoreMaps, RevisionLogView } from './kv-store.js';
import { LmdbKeyMap } from './lmdb-key-map.js';
import { keyHistoryCodec, leaseIdCodec, packedEntryCodec } from './lmdb-value-codecs.js';
import type { StreamedEntries } from './kv-snapshot-codec.js';
import type { PackedEntry } from './packed-entry.js';
import type { CapturedState, RecoveredState, StateStore } from './state-store.js';

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

/** The layout version of what this store writes; a store of another version is refused. */
const LAYOUT_VERSION = 1;
const STATE_KEY = 'state';

/** A revision as a key that sorts in revision order: 8 bytes, big-endian. */
function revisionKey(revision: number): Buffer {
  const key = Buffer.alloc(8);
  key.writeUIntBE(revision, 2, 6);
  return key;
}

/** What the meta database holds under {@link STATE_KEY}. */
interface StoredState {
  layout: number;
  appliedIndex: number;
  accountedBytes: number;
  rest: Uint8Array;
  /** The revision log's first revision, and the last one the changes database holds. */
  firstChangeRevision: number;
  loggedThrough: number;
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
  readonly #changes: Database<Buffer, Buffer>;
  #loggedThrough: number;
  readonly #policy: LmdbCommitPolicy;
  #pendingCommands = 0;
  #closed = false;

  /**
   * Opens (or creates) the store in the file `path` (LMDB adds `path-lock`).
   *
   * @throws Error if the file is not an LMDB environment or holds another layout version.
   */
  constructor(path: string, policy: LmdbCommitPolicy = DEFAULT_LMDB_COMMIT_POLICY) {
    this.#policy = policy;
    // overlappingSync off: a synchronous commit returns only once it is on disk.
    this.#root = open({ path, maxDbs: 8, overlappingSync: false, noSync: false, cache: false });
    this.#meta = this.#root.openDB<StoredState, string>({ name: 'meta', encoding: 'msgpack' });
    const binary = { encoding: 'binary', keyEncoding: 'binary' } as const;
    const stored = this.#meta.get(STATE_KEY);
    if (stored !== undefined && stored.layout !== LAYOUT_VERSION) {
      void this.#root.close();
      throw new Error(`${path}: LMDB state layout ${stored.layout}, expected ${LAYOUT_VERSION}`);
    }
    this.#keys = new LmdbKeyMap(
      this.#root.openDB<Buffer, Buffer>({ name: 'keys', ...binary }),
      packedEntryCodec,
      stored?.keyCount ?? 0,
    );
    this.#history = new LmdbKeyMap(
      this.#root.openDB<Buffer, Buffer>({ name: 'history', ...binary }),
      keyHistoryCodec,
      stored?.historyKeyCount ?? 0,
    );
    this.#entryLeases = new LmdbKeyMap(
      this.#root.openDB<Buffer, Buffer>({ name: 'entry-leases', ...binary }),
      leaseIdCodec,
      stored?.entryLeaseCount ?? 0,
    );
    this.maps = { keys: this.#keys, history: this.#history, entryLeases: this.#entryLeases };
    this.#changes = this.#root.openDB<Buffer, Buffer>({ name: 'changes', ...binary });
    this.#loggedThrough = stored?.loggedThrough ?? 0;
    this.recovered =
      stored === undefined
        ? undefined
        : {
            appliedIndex: stored.appliedIndex,
            accountedBytes: stored.accountedBytes,
            rest: stored.rest,
            firstChangeRevision: stored.firstChangeRevision,
            changes: this.#readChanges(),
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
    const log = captured.revisionLog;
    const state: StoredState = {
      appliedIndex: captured.appliedIndex,
      accountedBytes: captured.accountedBytes,
      rest: captured.rest,
      firstChangeRevision: log.firstRevision,
      loggedThrough: log.lastRevision,
      layout: LAYOUT_VERSION,
      keyCount: this.#keys.size,
      historyKeyCount: this.#history.size,
      entryLeaseCount: this.#entryLeases.size,
    };
    this.#root.transactionSync(() => {
      this.#keys.writePending();
      this.#history.writePending();
      this.#entryLeases.writePending();
      this.#writeRevisionLog(log, captured.replacesAll);
      void this.#meta.put(STATE_KEY, state);
    });
    this.#loggedThrough = log.lastRevision;
    this.#keys.committed();
    this.#history.committed();
    this.#entryLeases.committed();
    this.#pendingCommands = 0;
  }

  /**
   * The committed keys and histories in one LMDB read transaction, read lazily as a snapshot is
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
      keys: () => this.#keys.committedEntries(transaction),
      historyKeyCount: stored?.historyKeyCount ?? 0,
      histories: () => this.#history.committedEntries(transaction),
      release: () => {
        if (released) return;
        released = true;
        transaction.done();
      },
    };
  }

  /**
   * Saves the revisions logged since the last commit and forgets the compacted ones, inside the
   * commit's transaction: a commit costs what changed, not the whole log.
   */
  #writeRevisionLog(log: RevisionLogView, replacesAll: boolean): void {
    if (replacesAll) this.#changes.clearSync();
    else {
      const compactedEnd = Math.min(log.firstRevision, this.#loggedThrough + 1);
      for (const { key } of this.#changes.getRange({ end: revisionKey(compactedEnd) })) {
        void this.#changes.remove(key);
      }
    }
    const from = replacesAll
      ? log.firstRevision
      : Math.max(log.firstRevision, this.#loggedThrough + 1);
    for (let revision = from; revision <= log.lastRevision; revision++) {
      const keys = log.keysAt(revision);
      const writer = new BinaryWriter(16 + keys.length * 24);
      writer.writeVarint(keys.length);
      for (const key of keys) writer.writeByteString(key);
      void this.#changes.put(revisionKey(revision), Buffer.from(writer.finishExact()));
    }
  }

  /** The saved revision log, oldest first. */
  #readChanges(): [number, ByteString[]][] {
    const changes: [number, ByteString[]][] = [];
    for (const { key, value } of this.#changes.getRange({})) {
      const reader = new BinaryReader(value);
      const keys: ByteString[] = [];
      for (let count = reader.readVarint(); count > 0; count--) keys.push(reader.readByteString());
      changes.push([key.readUIntBE(2, 6), keys]);
    }
    return changes;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    void this.#root.close();
  }
}
