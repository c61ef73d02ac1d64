/**
 * The port between kv-node's state machine and where its state lives, with the in-memory
 * implementation. The state machine keeps etcd's semantics; a state store holds the keys and the
 * history (as {@link KvStoreMaps}) and, when durable, commits them together with everything else
 * the state machine holds (revision log, idempotency table, leases, auth, alarms) and the log
 * index they cover. `lmdb-state-store.ts` is the durable implementation.
 */

import type { KeyHistory } from './key-history.js';
import type { StreamedEntries } from './kv-snapshot-codec.js';
import type { ByteString } from './byte-string.js';
import type { KvStoreMaps, RevisionLogView } from './kv-store.js';
import type { PackedEntry } from './packed-entry.js';
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
   * Everything else the state machine holds but the revision log, encoded: a snapshot
   * (`kv-snapshot-codec.ts`) without its keys, history records and revision log.
   */
  rest: Uint8Array;
  /** The revision log; a durable store saves the revisions it has not saved yet. */
  revisionLog: RevisionLogView;
  /** Whether the whole state was replaced (a snapshot installed) since the last commit. */
  replacesAll: boolean;
}

/** A state a durable store found on open: the last one it committed. */
export interface RecoveredState {
  appliedIndex: number;
  accountedBytes: number;
  rest: Uint8Array;
  /** The revision log's first revision. */
  firstChangeRevision: number;
  /** Each logged revision and the keys it changed, oldest first. */
  changes: [number, ByteString[]][];
}

/** See the module comment. */
export interface StateStore {
  /** Which backend this is. */
  readonly backend: StateBackendName;
  /** Where the key-value store keeps its live keys and history. */
  readonly maps: KvStoreMaps;
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
