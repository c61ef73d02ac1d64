/**
 * The key-value store that the replicated log's entries are applied to: byte keys in order, a
 * cluster revision, per-key create/mod revision and version, and etcd's put, range, delete-range
 * and transaction semantics, with etcd's multi-version history: every revision of every key is
 * kept until compacted, so a range can read the state as of any revision since the compact
 * revision. Pure and synchronous: the same requests in the same order give the same state and
 * results on every replica.
 *
 * The latest value of each key sits in one map (latest reads cost what they cost without
 * history); superseded values and tombstones sit in a side map (`key-history.ts`), and which keys
 * each revision changed in a revision log (`revision-log.ts`), both trimmed by compaction.
 */

import { NO_LEASE } from '../lease/lease-id.js';
import type { ByteString } from './byte-string.js';
import type {
  Compare,
  DeleteRangeRequest,
  DeleteRangeResult,
  KeyValue,
  PutRequest,
  PutResult,
  RangeRequest,
  RangeResult,
  RangeView,
  RequestOp,
  ResponseOp,
  TxnRequest,
  TxnResult,
} from './kv-types.js';
import { rangeViewOf } from './kv-types.js';
import type { HistoryRecord, KeyHistory } from './key-history.js';
import { compactKeyHistory, isTombstone, lastIndexAtOrBefore } from './key-history.js';
import type { EntryHeader, PackedEntry } from './packed-entry.js';
import { isWellFormedEntry, packEntry, unpackHeader, valueOf } from './packed-entry.js';
import { CompactedRevisionError, FutureRevisionError } from './revision-errors.js';
import type { ChangeLog, RevisionChanges } from './revision-log.js';
import { RevisionLog } from './revision-log.js';
import type { KeyMap } from './key-map.js';
import { SortedKeyMap } from './sorted-key-map.js';
import type { TxnReadBudget, TxnReads } from './txn-read-budget.js';

/** A key's value and metadata (the store keeps them packed; see `packed-entry.ts`). */
export interface StoredValue {
  value: ByteString;
  createRevision: number;
  modRevision: number;
  version: number;
}

/** Tracks whether a write transaction has changed anything, which decides its revision. */
interface WriteContext {
  changed: boolean;
}

/** The first revision of an empty store, as in etcd. */
export const INITIAL_REVISION = 1;

/**
 * Bytes charged per stored item on top of its own bytes, in {@link KvStore.accountedBytes}:
 * about what the map slot, array slot or string header costs in V8.
 */
const LIVE_KEY_OVERHEAD = 32;
const HISTORY_KEY_OVERHEAD = 32;
/** An array slot (a tombstone is a small integer, stored in its slot). */
const RECORD_OVERHEAD = 8;
/** A superseded put: its slot and its string's header. */
const PUT_RECORD_OVERHEAD = 24;
/** A revision-log entry: the key's slot and a share of the offsets. */
const CHANGE_OVERHEAD = 16;

function recordCost(record: PackedEntry | number): number {
  return typeof record === 'number' ? RECORD_OVERHEAD : PUT_RECORD_OVERHEAD + record.length;
}

function historyCost(history: KeyHistory): number {
  let cost = 0;
  for (const record of history) cost += recordCost(record);
  return cost;
}

/** What a live key and its entry add to {@link KvStore.accountedBytes}. */
export function liveKeyCost(key: ByteString, packed: PackedEntry): number {
  return key.length + packed.length + LIVE_KEY_OVERHEAD;
}

/** What a key's superseded records (and the key) add to {@link KvStore.accountedBytes}. */
export function historyKeyCost(key: ByteString, history: KeyHistory): number {
  return key.length + HISTORY_KEY_OVERHEAD + historyCost(history);
}

/** What one key change in the revision log adds to {@link KvStore.accountedBytes}. */
export const CHANGE_COST = CHANGE_OVERHEAD;

/**
 * Checks the superseded records of a snapshot's `index`-th history key: each well-formed, their
 * revisions safe integers, ascending, none above `revision` (the snapshot's).
 *
 * @throws RangeError if they are not.
 */
export function checkSnapshotHistory(history: KeyHistory, revision: number, index: number): void {
  let last = 0;
  for (const record of history) {
    if (!isTombstone(record) && !isWellFormedEntry(record)) {
      throw new RangeError(`malformed history record for key #${index}`);
    }
    const at = isTombstone(record) ? record : unpackHeader(record).modRevision;
    if (!Number.isSafeInteger(at) || at <= last || at > revision) {
      throw new RangeError(`history records out of order for key #${index}`);
    }
    last = at;
  }
}

/**
 * The first revision a snapshot's revision log holds: the compact revision (whose changes stay
 * logged), never before 2 (revision 1, the empty store, changed nothing).
 */
export function firstLoggedRevision(compactRevision: number): number {
  return Math.max(compactRevision, INITIAL_REVISION + 1);
}

/**
 * Visits the keys a request addresses: just `key` when `rangeEnd` is empty, every key `>= key`
 * when it is `"\0"`, otherwise `[key, rangeEnd)`.
 */
function visitRange(
  keys: KeyMap<PackedEntry>,
  key: ByteString,
  rangeEnd: ByteString,
  visit: (key: ByteString, stored: PackedEntry) => boolean | void,
): void {
  if (rangeEnd === '') {
    const stored = keys.get(key);
    if (stored !== undefined) visit(key, stored);
    return;
  }
  if (rangeEnd === '\0') {
    keys.scan(key, undefined, visit);
    return;
  }
  if (rangeEnd <= key) return;
  keys.scan(key, rangeEnd, visit);
}

/** The value a key had as of `revision`, from its current value and its history. */
function entryAt(
  current: PackedEntry | undefined,
  history: KeyHistory | undefined,
  revision: number,
): PackedEntry | undefined {
  if (current !== undefined && unpackHeader(current).modRevision <= revision) return current;
  if (history === undefined) return undefined;
  const record = history[lastIndexAtOrBefore(history, revision)];
  return record === undefined || isTombstone(record) ? undefined : record;
}

/** The keys of one map in a range, as parallel arrays of references. */
function collectRange<V>(
  map: KeyMap<V>,
  key: ByteString,
  rangeEnd: ByteString,
): { keys: ByteString[]; values: V[] } {
  if (rangeEnd === '') {
    const value = map.get(key);
    return value === undefined ? { keys: [], values: [] } : { keys: [key], values: [value] };
  }
  if (rangeEnd !== '\0' && rangeEnd <= key) return { keys: [], values: [] };
  return map.collect(key, rangeEnd === '\0' ? undefined : rangeEnd, Infinity);
}

/** A past state's history, as a snapshot carries it (references; the arrays are copies). */
export interface HistoryView {
  /** The oldest revision a range can still read (0: nothing compacted yet). */
  compactRevision: number;
  /** Keys with superseded records, strictly ascending. */
  keys: ByteString[];
  /** The superseded records of each key (see `key-history.ts`). */
  records: KeyHistory[];
  /**
   * Each revision after `compactRevision` and the keys it changed, oldest first (an array when
   * decoded; over the revision log's own arrays when the store's view, see `revision-log.ts`).
   */
  changes: RevisionChanges;
}

/** What a revision changed for one key: its record then, and its previous put if still kept. */
export interface KeyChange {
  key: ByteString;
  /** The key's put at that revision; `undefined` for a delete. */
  entry: PackedEntry | undefined;
  /** The key's value just before that revision, if it had one and it is still kept. */
  previous: PackedEntry | undefined;
  /** The lease `entry` was put with, if any (see {@link KvStore.leaseOfEntry}). */
  entryLease?: string;
  /** The lease `previous` was put with, if any. */
  previousLease?: string;
}

function keyValue(
  key: ByteString,
  stored: PackedEntry,
  withValue = true,
  header: EntryHeader = unpackHeader(stored),
): KeyValue {
  return {
    key,
    value: withValue ? valueOf(stored, header) : '',
    createRevision: header.createRevision,
    modRevision: header.modRevision,
    version: header.version,
  };
}

function compareNumbers(left: number, right: number): number {
  return left < right ? -1 : left > right ? 1 : 0;
}

function compareByteStrings(left: ByteString, right: ByteString): number {
  return left < right ? -1 : left > right ? 1 : 0;
}

/** The lease a stored entry of `key` was put with (a canonical decimal int64), if any. */
type LeaseLookup = (key: ByteString, stored: PackedEntry) => string | undefined;

/** etcd's int64 order of two canonical decimal lease ids. */
function compareLeaseIds(left: string, right: string): number {
  if (left === right) return 0;
  return BigInt(left) < BigInt(right) ? -1 : 1;
}

function holds(
  compare: Compare,
  key: ByteString,
  stored: PackedEntry | undefined,
  leaseOf: LeaseLookup,
): boolean {
  let order: number;
  if (compare.target === 'lease') {
    // A missing key has no lease: "0", as etcd compares an empty KeyValue.
    const lease = stored === undefined ? NO_LEASE : (leaseOf(key, stored) ?? NO_LEASE);
    order = compareLeaseIds(lease, compare.operand);
  } else if (compare.target === 'value') {
    // As in etcd: a value comparison against a missing key always fails, because an empty value
    // and no value cannot be told apart.
    if (stored === undefined) return false;
    order = compareByteStrings(valueOf(stored), compare.operand);
  } else {
    const header = stored === undefined ? undefined : unpackHeader(stored);
    const field =
      header === undefined
        ? 0
        : compare.target === 'version'
          ? header.version
          : compare.target === 'create'
            ? header.createRevision
            : header.modRevision;
    order = compareNumbers(field, compare.operand);
  }
  switch (compare.result) {
    case 'equal':
      return order === 0;
    case 'not_equal':
      return order !== 0;
    case 'greater':
      return order > 0;
    case 'less':
      return order < 0;
  }
}

function sortKeyValues(kvs: KeyValue[], request: RangeRequest): void {
  let order = request.sortOrder;
  // etcd's rule: a non-key target with no order means ascending.
  if (order === 'none' && request.sortTarget !== 'key') order = 'ascend';
  if (order === 'none') return;
  if (request.sortTarget === 'key') {
    if (order === 'descend') kvs.reverse();
    return;
  }
  const sign = order === 'ascend' ? 1 : -1;
  const target = request.sortTarget;
  kvs.sort((left, right) => {
    switch (target) {
      case 'version':
        return sign * compareNumbers(left.version, right.version);
      case 'create':
        return sign * compareNumbers(left.createRevision, right.createRevision);
      case 'mod':
        return sign * compareNumbers(left.modRevision, right.modRevision);
      case 'value':
        return sign * compareByteStrings(left.value, right.value);
    }
  });
}

function passesFilters(header: EntryHeader, request: RangeRequest): boolean {
  return !(
    (request.minModRevision > 0 && header.modRevision < request.minModRevision) ||
    (request.maxModRevision > 0 && header.modRevision > request.maxModRevision) ||
    (request.minCreateRevision > 0 && header.createRevision < request.minCreateRevision) ||
    (request.maxCreateRevision > 0 && header.createRevision > request.maxCreateRevision)
  );
}

/**
 * Where a {@link KvStore} keeps its live keys and its history: in the heap by default, or in a
 * backend's maps (see `state-store.ts`).
 */
export interface KvStoreMaps {
  /** Each live key's packed entry. */
  keys: KeyMap<PackedEntry>;
  /** Each key's superseded records (see `key-history.ts`). */
  history: KeyMap<KeyHistory>;
  /** The lease each kept entry was put with, by `modRevision:key` (see {@link LeaseNotes}). */
  entryLeases: LeaseNotes;
  /** Which keys each revision after the compact revision changed (see `revision-log.ts`). */
  changes: ChangeLog;
}

/**
 * The lease of each kept entry put with one, by `modRevision:key`: what a `Map` offers and the
 * store uses (a plain `Map` in memory; no order needed).
 */
export interface LeaseNotes {
  readonly size: number;
  get(noteKey: string): string | undefined;
  set(noteKey: string, lease: string): unknown;
  delete(noteKey: string): boolean;
  clear(): void;
}

/**
 * The store's counters, which a durable backend saves beside its maps so that a store can resume
 * from them (see {@link KvStore.resume}).
 */
export interface KvStoreCounters {
  revision: number;
  compactRevision: number;
  accountedBytes: number;
}

/**
 * Checks a history view's revision log before anything is replaced: revisions consecutive from
 * `firstRevision`, none above `revision`, each changing a key.
 *
 * @throws RangeError if it is not so.
 */
function checkRevisionChanges(
  firstRevision: number,
  changed: RevisionChanges,
  revision: number,
): void {
  let expected = firstRevision;
  for (const [at, keys] of changed) checkLoggedRevision(at, keys, expected++, revision);
}

/**
 * Checks one revision of a snapshot's revision log: the `expected` one (consecutive), not above
 * `revision` (the snapshot's), changing a key.
 *
 * @throws RangeError if it is not so.
 */
export function checkLoggedRevision(
  at: number,
  keys: readonly ByteString[],
  expected: number,
  revision: number,
): void {
  if (at !== expected || at > revision || keys.length === 0) {
    throw new RangeError(`revision log has revision ${at} where ${expected} belongs`);
  }
}

/** A key-value store with etcd's revision model and history (see the module comment). */
export class KvStore {
  readonly #keys: KeyMap<PackedEntry>;
  /**
   * The lease each kept entry was put with, for entries put with one: `modRevision:key` to the
   * lease id. Why here: a watch event carries its key-value's lease as of that revision (etcd's
   * `mvccpb.KeyValue.lease`), and the lease table only knows today's attachments. Dropped with
   * the entry by compaction; not in snapshots (after a restore, only current entries have theirs,
   * from the lease table), but kept by a durable state store across restarts.
   */
  readonly #entryLeases: LeaseNotes;
  readonly #history: KeyMap<KeyHistory>;
  readonly #changes: ChangeLog;
  #compactRevision = 0;
  #revision = INITIAL_REVISION;
  #accountedBytes = 0;
  #listeners: ((revision: number, replaced: boolean) => void)[] = [];

  /** @param maps where the keys, history and revision log live; in the heap when omitted. */
  constructor(
    maps: KvStoreMaps = {
      keys: new SortedKeyMap<PackedEntry>(),
      history: new SortedKeyMap(),
      entryLeases: new Map(),
      changes: new RevisionLog(INITIAL_REVISION + 1),
    },
  ) {
    this.#keys = maps.keys;
    this.#history = maps.history;
    this.#entryLeases = maps.entryLeases;
    this.#changes = maps.changes;
  }

  /**
   * Takes up the counters saved with the maps (and revision log) this store was built on: a
   * durable backend reopened at the state it committed.
   *
   * @throws RangeError if the revision log does not fit the revisions.
   */
  resume(counters: KvStoreCounters): void {
    if (this.#changes.lastRevision > counters.revision) {
      throw new RangeError(
        `revision log reaches revision ${this.#changes.lastRevision}, above ${counters.revision}`,
      );
    }
    this.#revision = counters.revision;
    this.#compactRevision = counters.compactRevision;
    this.#accountedBytes = counters.accountedBytes;
    for (const listener of this.#listeners) listener(this.#revision, true);
  }

  /**
   * The store's accounted size in bytes: keys, values and metadata of the current values and of
   * the history compaction has not yet dropped, plus a fixed overhead per item. What
   * `--quota-backend-bytes` is checked against (etcd checks its database file's size).
   */
  get accountedBytes(): number {
    return this.#accountedBytes;
  }

  /** The oldest revision a range can read: 0 until the first compaction. */
  get compactRevision(): number {
    return this.#compactRevision;
  }

  /**
   * The oldest revision whose changes are still known (a watch can start there): the compact
   * revision, or the one after it when the history came from a snapshot without one.
   */
  get firstChangeRevision(): number {
    return Math.max(this.#changes.firstRevision, INITIAL_REVISION + 1);
  }

  /**
   * Observes the store: `listener(revision, false)` after each write transaction that changed
   * something (at its new revision), `listener(revision, true)` after the state was replaced (a
   * snapshot restore). Called synchronously while applying, so it must be quick and must not
   * throw. Returns a function that removes the listener.
   */
  onChange(listener: (revision: number, replaced: boolean) => void): () => void {
    this.#listeners.push(listener);
    return () => {
      this.#listeners = this.#listeners.filter((registered) => registered !== listener);
    };
  }

  /** Number of keys with superseded records kept for past reads. */
  get historyKeyCount(): number {
    return this.#history.size;
  }

  /** Number of key changes kept in the revision log (revisions after the compact revision). */
  get historyChangeCount(): number {
    return this.#changes.changeCount;
  }

  /** The store revision: starts at 1 and grows by one per write transaction that changes a key. */
  get revision(): number {
    return this.#revision;
  }

  /** Number of keys stored. */
  get size(): number {
    return this.#keys.size;
  }

  /**
   * Reads a key or range at the current revision, or as of `revision` when it is positive.
   *
   * @throws FutureRevisionError if `revision` is above the current revision.
   * @throws CompactedRevisionError if `revision` is below the compact revision.
   */
  range(request: RangeRequest, revision = 0): RangeResult {
    const past = this.#pastRevision(revision);
    return this.#range(request, { changed: false }, undefined, past) as RangeResult;
  }

  /**
   * Checks `revision` is readable: `undefined` for the current state (0, or the current
   * revision), else the past revision to read at.
   */
  #pastRevision(revision: number): number | undefined {
    if (revision > this.#revision) throw new FutureRevisionError(revision);
    if (revision > 0 && revision < this.#compactRevision) {
      throw new CompactedRevisionError(revision, this.#compactRevision);
    }
    return revision <= 0 || revision === this.#revision ? undefined : revision;
  }

  /**
   * Reads a key or range at the current revision, as {@link range} does, but materializes each
   * key-value only when asked for it. Consistent: the view holds references to the stored keys
   * and packed entries (immutable strings) copied at this revision, and writes replace entries
   * rather than change them. Taking it costs two references per key (for ranges sorted by key,
   * unfiltered); sorted by another target or filtered, the result is materialized as
   * {@link range} does, and so is a read of a past `revision`.
   *
   * @throws FutureRevisionError if `revision` is above the current revision.
   * @throws CompactedRevisionError if `revision` is below the compact revision.
   */
  rangeView(request: RangeRequest, atRevision = 0): RangeView {
    if (this.#pastRevision(atRevision) !== undefined) {
      return rangeViewOf(this.range(request, atRevision));
    }
    const byKey =
      request.sortTarget === 'key' &&
      request.minModRevision === 0 &&
      request.maxModRevision === 0 &&
      request.minCreateRevision === 0 &&
      request.maxCreateRevision === 0 &&
      !request.countOnly;
    if (!byKey) return rangeViewOf(this.range(request));
    const revision = this.#revision;
    const descending = request.sortOrder === 'descend';
    const limit = request.limit > 0 ? request.limit : Infinity;
    let collected: { keys: ByteString[]; values: PackedEntry[]; count: number };
    if (request.rangeEnd === '') {
      const stored = this.#keys.get(request.key);
      collected =
        stored === undefined
          ? { keys: [], values: [], count: 0 }
          : { keys: [request.key], values: [stored], count: 1 };
    } else if (request.rangeEnd !== '\0' && request.rangeEnd <= request.key) {
      collected = { keys: [], values: [], count: 0 };
    } else {
      // Descending by key wants the last keys: collect them all (references only), read from the end.
      collected = this.#keys.collect(
        request.key,
        request.rangeEnd === '\0' ? undefined : request.rangeEnd,
        descending ? Infinity : limit,
      );
    }
    const { keys, values, count } = collected;
    const length = Math.min(keys.length, limit);
    const withValue = !request.keysOnly;
    return {
      length,
      keyValue: (index) => {
        const at = descending ? keys.length - 1 - index : index;
        return keyValue(keys[at] as ByteString, values[at] as PackedEntry, withValue);
      },
      more: count > length && limit !== Infinity,
      count,
      revision,
    };
  }

  /** Sets a key in its own write transaction. */
  put(request: PutRequest): PutResult {
    const context: WriteContext = { changed: false };
    const result = this.#put(request, context);
    this.#commit(context);
    return result;
  }

  /** Deletes a key or range in its own write transaction. */
  deleteRange(request: DeleteRangeRequest): DeleteRangeResult {
    const context: WriteContext = { changed: false };
    const result = this.#deleteRange(request, context);
    this.#commit(context);
    result.revision = this.#revision;
    return result;
  }

  /**
   * Evaluates the comparisons and applies one branch atomically, at a single new revision.
   *
   * @param reads how its ranges are read (see {@link TxnReads}); what they read never changes
   *   the state, so members that read differently still agree on it.
   * @throws FutureRevisionError or CompactedRevisionError, before anything is applied, if a
   *   range of the branch it takes reads at a revision it cannot (etcd checks the same way).
   */
  txn(request: TxnRequest, reads: TxnReads = 'all'): TxnResult {
    this.#checkRangeRevisions(request);
    const context: WriteContext = { changed: false };
    const result = this.#txn(request, context, reads);
    this.#commit(context);
    result.revision = this.#revision;
    return result;
  }

  /**
   * Charges `budget` for every range of `request` (both branches, every nesting level) evaluated
   * against the current state, and one key for every key a comparison over a key range may
   * visit, stopping as soon as the budget is exceeded: a leader's admission check of a write
   * transaction, at a cost bounded by the budget. Changes nothing.
   */
  chargeTxnReads(request: TxnRequest, budget: TxnReadBudget): void {
    for (const compare of request.compare) {
      // Every member evaluates comparisons (they decide the branch), so they cannot be skipped
      // where nobody waits; a range comparison visits up to every key in its range.
      if (compare.rangeEnd === '' || budget.exceeded) continue;
      visitRange(this.#keys, compare.key, compare.rangeEnd, () => budget.chargeKey());
    }
    const charge = (ops: readonly RequestOp[]): void => {
      for (const op of ops) {
        if (budget.exceeded) return;
        if (op.type === 'range') this.#range(op.request, { changed: false }, budget);
        else if (op.type === 'txn') this.chargeTxnReads(op.request, budget);
      }
    };
    charge(request.success);
    charge(request.failure);
  }

  /**
   * Visits every key and its packed entry (see `packed-entry.ts`) in key order: the snapshot
   * writes them as they are.
   */
  forEachPacked(visit: (key: ByteString, packed: PackedEntry) => void): void {
    this.#keys.scan('', undefined, (key, packed) => {
      visit(key, packed);
    });
  }

  /**
   * Every key and its packed entry, in key order, as two parallel arrays of references: a
   * consistent view at this revision that later writes do not change (strings are immutable), for
   * about 8 bytes per key instead of a copy of the data.
   */
  packedView(): { revision: number; keys: ByteString[]; packed: PackedEntry[] } {
    // Sized up front: arrays grown by push hold up to half again their length (and the copies
    // made while growing), 8 bytes a key each, while a snapshot is written.
    const keys = new Array<ByteString>(this.#keys.size);
    const packed = new Array<PackedEntry>(this.#keys.size);
    let count = 0;
    this.#keys.scan('', undefined, (key, entry) => {
      keys[count] = key;
      packed[count++] = entry;
    });
    keys.length = count;
    packed.length = count;
    return { revision: this.#revision, keys, packed };
  }

  /**
   * Replaces the whole state (for snapshot restore) with `keys` (strictly ascending) and their
   * packed entries, at `revision`.
   *
   * @throws RangeError if the keys are not strictly ascending or an entry is malformed.
   */
  loadPacked(revision: number, keys: readonly ByteString[], packed: readonly PackedEntry[]): void {
    const malformed = packed.findIndex((entry) => !isWellFormedEntry(entry));
    if (malformed >= 0) throw new RangeError(`malformed entry for key #${malformed}`);
    this.#keys.load(keys, packed);
    this.#entryLeases.clear();
    this.#revision = revision;
    this.#accountedBytes = 0;
    for (let index = 0; index < keys.length; index++) {
      this.#accountedBytes += liveKeyCost(keys[index] as ByteString, packed[index] as PackedEntry);
    }
    // Without history (until loadHistory), nothing below this revision can be read.
    this.#history.clear();
    this.#changes.reset(revision + 1);
    this.#compactRevision = revision;
    for (const listener of this.#listeners) listener(revision, true);
  }

  /** The stored value and metadata of `key`, unpacked, if present. */
  stored(key: ByteString): StoredValue | undefined {
    const packed = this.#keys.get(key);
    if (packed === undefined) return undefined;
    const header = unpackHeader(packed);
    return {
      value: valueOf(packed, header),
      createRevision: header.createRevision,
      modRevision: header.modRevision,
      version: header.version,
    };
  }

  /**
   * Compacts the history at `revision`: forgets every record no read at `revision` or later
   * needs, after which reads below `revision` fail as compacted (etcd's compaction).
   *
   * @throws CompactedRevisionError if `revision` is not above the compact revision.
   * @throws FutureRevisionError if `revision` is above the current revision.
   */
  compact(revision: number): void {
    if (revision > this.#revision) throw new FutureRevisionError(revision);
    if (revision <= this.#compactRevision) {
      throw new CompactedRevisionError(revision, this.#compactRevision);
    }
    const changesBefore = this.#changes.changeCount;
    // Only keys changed since the last compaction can hold records it has not trimmed yet. The
    // compact revision's own changes stay logged: a watch may start at it, as in etcd.
    const compactKey = (key: ByteString): void => {
      const history = this.#history.get(key);
      if (history === undefined) return;
      const current = this.#keys.get(key);
      const kept = compactKeyHistory(
        history,
        revision,
        current === undefined ? undefined : unpackHeader(current).modRevision,
      );
      if (kept === history) return;
      for (const record of history) {
        if (!isTombstone(record) && !kept.includes(record)) {
          this.#entryLeases.delete(`${unpackHeader(record).modRevision}:${key}`);
        }
      }
      this.#accountedBytes -= historyCost(history) - historyCost(kept);
      if (kept.length === 0) {
        this.#history.delete(key);
        this.#accountedBytes -= key.length + HISTORY_KEY_OVERHEAD;
      } else {
        this.#history.set(key, kept);
      }
    };
    this.#changes.dropThrough(revision - 1, compactKey);
    for (const key of this.#changes.keysAt(revision)) compactKey(key);
    this.#accountedBytes -= (changesBefore - this.#changes.changeCount) * CHANGE_OVERHEAD;
    this.#compactRevision = revision;
  }

  /**
   * What `revision` changed, key by key in the order it changed them: the key's put then (or
   * `undefined` for a delete) and its value just before (when still kept). For revisions from
   * {@link firstChangeRevision} on; empty for others.
   */
  changesAt(revision: number): KeyChange[] {
    if (revision < this.#compactRevision || revision > this.#revision) return [];
    return this.#changes.keysAt(revision).map((key) => {
      const current = this.#keys.get(key);
      const history = this.#history.get(key);
      const change: KeyChange = {
        key,
        entry: entryAt(current, history, revision),
        previous: entryAt(current, history, revision - 1),
      };
      const entryLease = this.leaseOfEntry(key, change.entry);
      if (entryLease !== undefined) change.entryLease = entryLease;
      const previousLease = this.leaseOfEntry(key, change.previous);
      if (previousLease !== undefined) change.previousLease = previousLease;
      return change;
    });
  }

  /**
   * The lease a kept entry of `key` was put with, if any: as of that entry's revision, whatever
   * the key's lease is now. Entries from before a snapshot restore know it only while current.
   */
  leaseOfEntry(key: ByteString, entry: PackedEntry | undefined): string | undefined {
    if (entry === undefined || this.#entryLeases.size === 0) return undefined;
    return this.#entryLeases.get(`${unpackHeader(entry).modRevision}:${key}`);
  }

  /**
   * Notes `lease` as the lease of `key`'s current entry (after a snapshot restore, from the lease
   * table, which snapshots carry).
   */
  noteCurrentLease(key: ByteString, lease: string): void {
    const current = this.#keys.get(key);
    if (current === undefined) return;
    this.#entryLeases.set(`${unpackHeader(current).modRevision}:${key}`, lease);
  }

  /**
   * The history (compact revision, superseded records, revision log) as a consistent view for a
   * snapshot: the record arrays are copied, since writes append to them.
   */
  historyView(): HistoryView {
    const keys: ByteString[] = [];
    const records: KeyHistory[] = [];
    this.#history.scan('', undefined, (key, history) => {
      keys.push(key);
      records.push(history.slice());
    });
    return {
      compactRevision: this.#compactRevision,
      keys,
      records,
      changes: this.#captureChanges(),
    };
  }

  /** The revision log as of now: captured without a copy where the log can (in the heap). */
  #captureChanges(): RevisionChanges {
    const captured = this.#changes.capture?.();
    if (captured !== undefined) return captured;
    const changes: [number, ByteString[]][] = [];
    this.#changes.forEachRevision((revision, changed) => changes.push([revision, changed]));
    return changes;
  }

  /**
   * Replaces the history (after {@link loadPacked}, for snapshot restore).
   *
   * @throws RangeError if the keys are not strictly ascending, a record is malformed or out of
   *   order, or the revisions are not consecutive or outside the compact and current revisions.
   */
  loadHistory(view: HistoryView): void {
    if (view.compactRevision > this.#revision) {
      throw new RangeError(`compact revision ${view.compactRevision} above ${this.#revision}`);
    }
    if (view.keys.length !== view.records.length) {
      throw new RangeError('history keys and records differ in length');
    }
    for (const [index, history] of view.records.entries()) {
      checkSnapshotHistory(history, this.#revision, index);
    }
    const first = firstLoggedRevision(view.compactRevision);
    checkRevisionChanges(first, view.changes, this.#revision);
    // A snapshot decodes each key afresh wherever it occurs: the history shares the live map's
    // strings instead (the decoder already shares them with the revision log it hands over).
    const liveKey = (key: ByteString): ByteString => this.#keys.keyInstance?.(key) ?? key;
    this.#history.load(view.keys.map(liveKey), view.records);
    this.#changes.reset(first);
    for (const [at, keys] of view.changes) for (const key of keys) this.#changes.record(at, key);
    let added = this.#changes.changeCount * CHANGE_OVERHEAD;
    for (let index = 0; index < view.keys.length; index++) {
      added += historyKeyCost(view.keys[index] as ByteString, view.records[index] as KeyHistory);
    }
    this.#compactRevision = view.compactRevision;
    this.#accountedBytes += added;
    for (const listener of this.#listeners) listener(this.#revision, true);
  }

  /**
   * Keeps what a write at `revision` replaced: the key's previous value goes to its history
   * (unless the same revision wrote it), a delete adds a tombstone, and the revision log gets the
   * key once per revision.
   */
  #recordChange(
    key: ByteString,
    previous: PackedEntry | undefined,
    revision: number,
    deleted: boolean,
  ): void {
    const previousRevision = previous === undefined ? 0 : unpackHeader(previous).modRevision;
    const retire = previous !== undefined && previousRevision < revision;
    let loggedAlready = previousRevision === revision;
    if (retire || deleted) {
      let added = 0;
      const existing = this.#history.upsert(key, (history = []) => {
        let kept = history.length;
        const appended: HistoryRecord[] = [];
        if (retire) {
          // A delete then a put in one earlier transaction: the put is that revision's state.
          if (history[kept - 1] === previousRevision) {
            kept--;
            added -= RECORD_OVERHEAD;
          }
          appended.push(previous);
          added += recordCost(previous);
        }
        const last = appended.length > 0 ? appended[appended.length - 1] : history[kept - 1];
        if (deleted && last !== revision) {
          appended.push(revision);
          added += RECORD_OVERHEAD;
        }
        if (appended.length === 0) return history;
        // A new array of exactly its records rather than the old one grown by push: V8 grows
        // an array by half its length plus 16 slots, so a one-record history held 17 slots
        // (184 bytes where 56 do), and most keys that have a history have one record.
        return history.slice(0, kept).concat(appended);
      });
      if (existing === undefined) added += key.length + HISTORY_KEY_OVERHEAD;
      this.#accountedBytes += added;
    } else if (previous === undefined) {
      // A put after a delete of the same key in one transaction: the delete logged it.
      const history = this.#history.get(key);
      loggedAlready = history !== undefined && history[history.length - 1] === revision;
    }
    if (!loggedAlready) {
      this.#changes.record(revision, key);
      this.#accountedBytes += CHANGE_OVERHEAD;
    }
  }

  /** Visits the keys of a range that existed as of `revision`, with their entries then. */
  #visitAt(
    key: ByteString,
    rangeEnd: ByteString,
    revision: number,
    visit: (key: ByteString, stored: PackedEntry) => boolean | void,
  ): void {
    const current = collectRange(this.#keys, key, rangeEnd);
    const past = collectRange(this.#history, key, rangeEnd);
    let currentAt = 0;
    let pastAt = 0;
    while (currentAt < current.keys.length || pastAt < past.keys.length) {
      const currentKey = current.keys[currentAt];
      const pastKey = past.keys[pastAt];
      let next: ByteString;
      let entry: PackedEntry | undefined;
      if (pastKey === undefined || (currentKey !== undefined && currentKey < pastKey)) {
        next = currentKey as ByteString;
        entry = entryAt(current.values[currentAt++], undefined, revision);
      } else if (currentKey === undefined || pastKey < currentKey) {
        next = pastKey;
        entry = entryAt(undefined, past.values[pastAt++], revision);
      } else {
        next = currentKey;
        entry = entryAt(current.values[currentAt++], past.values[pastAt++], revision);
      }
      if (entry !== undefined && visit(next, entry) === false) return;
    }
  }

  #visibleRevision(context: WriteContext): number {
    return context.changed ? this.#revision + 1 : this.#revision;
  }

  #commit(context: WriteContext): void {
    if (!context.changed) return;
    this.#revision++;
    for (const listener of this.#listeners) listener(this.#revision, false);
  }

  /** A range, charged to `budget` if any: `undefined` once the budget is exceeded. */
  #range(
    request: RangeRequest,
    context: WriteContext,
    budget: TxnReadBudget | undefined,
    pastRevision?: number,
  ): RangeResult | undefined {
    // As in etcd, the header of a past read carries the current revision, not the one read.
    const revision = this.#visibleRevision(context);
    const visit = (visitor: (key: ByteString, stored: PackedEntry) => boolean | void): void => {
      if (pastRevision === undefined) {
        visitRange(this.#keys, request.key, request.rangeEnd, visitor);
      } else {
        this.#visitAt(request.key, request.rangeEnd, pastRevision, visitor);
      }
    };
    let count = 0;
    if (request.countOnly) {
      visit(() => {
        if (budget !== undefined && !budget.chargeKey()) return false;
        count++;
      });
      return budget?.exceeded === true ? undefined : { kvs: [], more: false, count, revision };
    }
    const filtered =
      request.minModRevision > 0 ||
      request.maxModRevision > 0 ||
      request.minCreateRevision > 0 ||
      request.maxCreateRevision > 0;
    // Keys come out of the tree ascending, which is what 'none' and 'ascend by key' want.
    const sorted = !(
      request.sortTarget === 'key' &&
      (request.sortOrder === 'none' || request.sortOrder === 'ascend')
    );
    // Like etcd: fetch one more than the limit to learn whether there are more, unless sorting or
    // filtering needs every key first.
    const fetchLimit = filtered || sorted || request.limit <= 0 ? Infinity : request.limit + 1;
    const kvs: KeyValue[] = [];
    visit((key, stored) => {
      if (budget !== undefined && !budget.chargeKey()) return false;
      count++;
      if (kvs.length >= fetchLimit) return;
      const header = unpackHeader(stored);
      if (passesFilters(header, request)) {
        const kv = keyValue(key, stored, !request.keysOnly, header);
        if (budget !== undefined && !budget.chargeBytes(kv.key.length + kv.value.length)) {
          return false;
        }
        kvs.push(kv);
      }
    });
    if (budget?.exceeded === true) return undefined;
    if (sorted) sortKeyValues(kvs, request);
    let more = false;
    if (request.limit > 0 && kvs.length > request.limit) {
      kvs.length = request.limit;
      more = true;
    }
    return { kvs, more, count, revision };
  }

  #put(request: PutRequest, context: WriteContext): PutResult {
    const revision = this.#revision + 1;
    context.changed = true;
    let written = '';
    const previous = this.#keys.upsert(request.key, (stored) => {
      if (stored === undefined) {
        written = packEntry(revision, revision, 1, request.value);
      } else {
        const header = unpackHeader(stored);
        written = packEntry(header.createRevision, revision, header.version + 1, request.value);
      }
      return written;
    });
    this.#accountedBytes +=
      previous === undefined
        ? request.key.length + written.length + LIVE_KEY_OVERHEAD
        : written.length - previous.length;
    // The string the map holds for the key: an overwrite's request brings an equal copy, which
    // the history and the revision log would otherwise keep until compaction.
    const key = this.#keys.keyInstance?.(request.key) ?? request.key;
    this.#recordChange(key, previous, revision, false);
    // Two puts of one key in a transaction: the last one's lease is the entry's.
    const noteKey = `${revision}:${request.key}`;
    if (request.lease !== undefined && request.lease !== NO_LEASE) {
      this.#entryLeases.set(noteKey, request.lease);
    } else if (this.#entryLeases.size > 0) {
      this.#entryLeases.delete(noteKey);
    }
    return previous !== undefined && request.prevKv
      ? { prevKv: keyValue(request.key, previous), revision }
      : { revision };
  }

  #deleteRange(request: DeleteRangeRequest, context: WriteContext): DeleteRangeResult {
    const doomed: ByteString[] = [];
    const prevKvs: KeyValue[] = [];
    visitRange(this.#keys, request.key, request.rangeEnd, (key, stored) => {
      doomed.push(key);
      if (request.prevKv) prevKvs.push(keyValue(key, stored));
    });
    const revision = this.#revision + 1;
    for (const key of doomed) {
      const stored = this.#keys.get(key) as PackedEntry;
      this.#recordChange(key, stored, revision, true);
      this.#keys.delete(key);
      this.#accountedBytes -= key.length + stored.length + LIVE_KEY_OVERHEAD;
    }
    if (doomed.length > 0) context.changed = true;
    return { deleted: doomed.length, prevKvs, revision: this.#visibleRevision(context) };
  }

  #txn(request: TxnRequest, context: WriteContext, reads: TxnReads): TxnResult {
    const succeeded = request.compare.every((compare) => this.#compareHolds(compare));
    const branch = succeeded ? request.success : request.failure;
    const responses = branch.map((op) => this.#apply(op, context, reads));
    return { succeeded, responses, revision: this.#visibleRevision(context) };
  }

  #apply(op: RequestOp, context: WriteContext, reads: TxnReads): ResponseOp {
    switch (op.type) {
      case 'range':
        return this.#readRange(op.request, context, reads);
      case 'put':
        return { type: 'put', result: this.#put(op.request, context) };
      case 'deleteRange':
        return { type: 'deleteRange', result: this.#deleteRange(op.request, context) };
      case 'txn':
        return { type: 'txn', result: this.#txn(op.request, context, reads) };
    }
  }

  /**
   * Checks the ranges of the branches a transaction will take (comparisons evaluated on the state
   * before it, as etcd's `compareToPath` does) read at revisions the store can serve.
   */
  #checkRangeRevisions(request: TxnRequest): void {
    const succeeded = request.compare.every((compare) => this.#compareHolds(compare));
    for (const op of succeeded ? request.success : request.failure) {
      if (op.type === 'txn') this.#checkRangeRevisions(op.request);
      if (op.type !== 'range' || (op.request.revision ?? 0) <= 0) continue;
      const revision = op.request.revision as number;
      if (revision > this.#revision) throw new FutureRevisionError(revision);
      if (revision < this.#compactRevision) {
        throw new CompactedRevisionError(revision, this.#compactRevision);
      }
    }
  }

  /** A range inside a transaction, read as `reads` says (it never changes the state). */
  #readRange(request: RangeRequest, context: WriteContext, reads: TxnReads): ResponseOp {
    if (reads === 'none') return { type: 'rangeNotRead', revision: this.#visibleRevision(context) };
    const budget = reads === 'all' ? undefined : reads;
    // At a revision, it reads the history: the transaction's own writes (at the next revision)
    // are not seen, as in etcd.
    const past = (request.revision ?? 0) > 0 ? request.revision : undefined;
    const result =
      budget?.exceeded === true ? undefined : this.#range(request, context, budget, past);
    return result === undefined
      ? { type: 'rangeNotRead', revision: this.#visibleRevision(context) }
      : { type: 'range', result };
  }

  #compareHolds(compare: Compare): boolean {
    // The lease of the entry as it stands at this point of the transaction, as its other fields.
    const leaseOf: LeaseLookup = (key, stored) => this.leaseOfEntry(key, stored);
    if (compare.rangeEnd === '') {
      return holds(compare, compare.key, this.#keys.get(compare.key), leaseOf);
    }
    let matched = 0;
    let allHold = true;
    visitRange(this.#keys, compare.key, compare.rangeEnd, (key, stored) => {
      matched++;
      allHold = holds(compare, key, stored, leaseOf);
      return allHold;
    });
    return matched === 0 ? holds(compare, compare.key, undefined, leaseOf) : allHold;
  }
}
