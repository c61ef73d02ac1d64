/**
 * The port between kv-node's state machine and where its state lives, with the in-memory
 * implementation. The state machine keeps etcd's semantics; a state store holds the keys and the
 * history and the revision log (as {@link KvStoreMaps}) and, when durable, commits them together
 * with everything else the state machine holds (idempotency table, leases, auth, alarms) and the
 * log index they cover. `lmdb-state-store.ts` is the durable implementation.
 */

import type { ByteString } from './byte-string.js';
import type { RememberedJournal, RememberedResult } from './idempotency-table.js';
import type { KeyHistory } from './key-history.js';
import type { StreamedEntries } from './kv-snapshot-codec.js';
import type { KvStoreMaps } from './kv-store.js';
import { INITIAL_REVISION } from './kv-store.js';
import type { PackedEntry } from './packed-entry.js';
import { RevisionLog } from './revision-log.js';
import { SortedKeyMap } from './sorted-key-map.js';

/** The backends `--backend` chooses between. */
export type StateBackendName = 'memory' | 'lmdb';

/**
 * The longest key the LMDB backend stores: LMDB's key limit (1,978 bytes) less the prefix of
 * the entry-lease notes (`modRevision:`, up to 17 bytes). etcd's default `--max-key-bytes`
 * (1,536) is within it.
 */
export const LMDB_MAX_KEY_BYTES = 1961;

/** Every backend `--backend` accepts, in the order the help lists them. */
export const STATE_BACKEND_NAMES: readonly StateBackendName[] = ['memory', 'lmdb'];

/**
 * What a durable store commits beside its maps, captured by the state machine when the store
 * asks for it.
 */
export interface CapturedState {
  /** The log index of the last command the state covers. */
  appliedIndex: number;
  /** The key-value store's accounted size (see `KvStore.accountedBytes`). */
  accountedBytes: number;
  /**
   * Everything else the state machine holds, encoded: a snapshot (`kv-snapshot-codec.ts`)
   * without its keys, history records and revision log (which live in the store's maps).
   */
  rest: Uint8Array;
  /**
   * The idempotency table, for a store that keeps it as records of its own
   * ({@link StateStore.keepsRememberedRecords}); `rest` then holds none of it.
   */
  remembered?: RememberedJournal;
}

/** A state a durable store found on open: the last one it committed. */
export interface RecoveredState {
  appliedIndex: number;
  accountedBytes: number;
  rest: Uint8Array;
  /**
   * The idempotency table's ids, oldest first, numbered from `firstSequence`, when the store
   * kept them as records; absent when `rest` holds them (a file of an earlier layout).
   */
  remembered?: { firstSequence: number; entries: [string, RememberedResult][] };
}

/** A durable store's file: its size and how much of it holds data (etcd's `dbSizeInUse`). */
export interface StoreDiskUsage {
  /** The file's length (what `ls -l` shows; etcd's `dbSize`). */
  fileBytes: number;
  /** The disk blocks the file occupies (what `du` shows; less when the file is sparse). */
  allocatedBytes: number;
  /** The pages the store's trees use, in bytes; the rest of the file is free pages to reuse. */
  inUseBytes: number;
}

/**
 * A snapshot's keys, histories and logged revisions, as a durable store takes them in: already
 * checked (see `snapshot-record-check.ts`), each kind in the snapshot's order (keys ascending,
 * revisions consecutive), keys before histories before revisions.
 */
export interface SnapshotRecordTarget {
  key(key: ByteString, packed: PackedEntry): void;
  history(key: ByteString, records: KeyHistory): void;
  change(revision: number, keys: readonly ByteString[]): void;
}

/** What an installed snapshot's maps hold, counted as its records went in. */
export interface InstalledMaps {
  keyCount: number;
  historyKeyCount: number;
  /** The revision log's first revision (the next one when it is empty). */
  firstChangeRevision: number;
  /** The revision log's last revision (`firstChangeRevision - 1` when empty). */
  lastChangeRevision: number;
  /** Number of key changes the revision log holds. */
  changeCount: number;
}

/**
 * A snapshot a durable store installs beside its live state, a bounded batch at a time (see
 * {@link StateStore.beginInstall}): nothing the store reads or commits changes until
 * {@link StateInstall.adopt}.
 */
export interface StateInstall extends SnapshotRecordTarget {
  /**
   * Writes what is still buffered, then points the store's maps at the installed state (their
   * overlays dropped). The state machine then installs the rest of the snapshot and commits:
   * that commit makes the installed state the one the store reopens with; until it, the file
   * still names the old one.
   *
   * @throws Error if a write fails.
   */
  adopt(installed: InstalledMaps): void;
  /** Gives the install up and empties what it wrote; the live state was never touched. */
  abandon(): void;
}

/** See the module comment. */
export interface StateStore {
  /** Which backend this is. */
  readonly backend: StateBackendName;
  /** Where the key-value store keeps its live keys, history and revision log. */
  readonly maps: KvStoreMaps;
  /**
   * Whether the store keeps the idempotency table as records of its own, written as they change
   * ({@link CapturedState.remembered}), instead of in the rest rewritten at each commit.
   */
  readonly keepsRememberedRecords?: boolean;
  /** The state committed before this process opened the store; `undefined` when empty. */
  readonly recovered: RecoveredState | undefined;
  /**
   * Called after every command the state machine applied; a durable store commits (calling
   * `capture`) when enough has changed since its last commit.
   *
   * @throws Error if a commit fails: the node must stop (the state on disk is the last commit).
   */
  applied(capture: () => CapturedState): void;
  /**
   * Commits everything applied so far now: before a snapshot is taken, and after one is
   * installed (which makes the install atomic on disk). A no-op in memory.
   *
   * @throws Error if the commit fails.
   */
  commit(capture: () => CapturedState): void;
  /**
   * Optional, for a durable store: its committed keys and histories, read lazily in one
   * consistent read (see `LmdbStateStore.openCommittedEntries`), for snapshots that stream from
   * disk instead of from the heap.
   */
  openCommittedEntries?(): StreamedEntries;
  /**
   * Optional, for a durable store: starts installing a snapshot beside the live state, whose
   * records it writes in bounded batches as they arrive (see `lmdb-snapshot-install.ts`), so an
   * install of any size holds a batch in memory, not the snapshot. A store without it has its
   * maps loaded whole (`KvStore.loadPacked`, `loadHistory`).
   *
   * @throws Error if an install is already under way or the store is closed.
   */
  beginInstall?(): StateInstall;
  /** Optional, for a durable store: its file's size and use, as of its last commit. */
  diskUsage?(): StoreDiskUsage;
  /** Releases the store (a durable one commits nothing more). */
  close(): void;
}

/** The state in the JavaScript heap: the B+trees of `sorted-key-map.ts`; nothing survives. */
export class MemoryStateStore implements StateStore {
  readonly backend = 'memory';
  readonly maps: KvStoreMaps = {
    keys: new SortedKeyMap<PackedEntry>(),
    history: new SortedKeyMap<KeyHistory>(),
    entryLeases: new Map<string, string>(),
    changes: new RevisionLog(INITIAL_REVISION + 1),
  };
  readonly recovered = undefined;

  applied(): void {
    // Nothing to commit: the heap is the state.
  }

  commit(): void {
    // Nothing to commit: the heap is the state.
  }

  close(): void {
    // Nothing held outside the heap.
  }
}
