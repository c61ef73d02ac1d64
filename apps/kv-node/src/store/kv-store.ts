/**
 * The key-value store that the replicated log's entries are applied to: byte keys in order, a
 * cluster revision, per-key create/mod revision and version, and etcd's put, range, delete-range
 * and transaction semantics. Pure and synchronous: the same requests in the same order give the
 * same state and results on every replica.
 */

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
import type { EntryHeader, PackedEntry } from './packed-entry.js';
import { isWellFormedEntry, packEntry, unpackHeader, valueOf } from './packed-entry.js';
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
 * Visits the keys a request addresses: just `key` when `rangeEnd` is empty, every key `>= key`
 * when it is `"\0"`, otherwise `[key, rangeEnd)`.
 */
function visitRange(
  keys: SortedKeyMap<PackedEntry>,
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

function holds(compare: Compare, stored: PackedEntry | undefined): boolean {
  let order: number;
  if (compare.target === 'value') {
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
 * An in-memory key-value store with etcd's revision model (no history: every read sees the latest
 * revision).
 */
export class KvStore {
  readonly #keys = new SortedKeyMap<PackedEntry>();
  #revision = INITIAL_REVISION;

  /** The store revision: starts at 1 and grows by one per write transaction that changes a key. */
  get revision(): number {
    return this.#revision;
  }

  /** Number of keys stored. */
  get size(): number {
    return this.#keys.size;
  }

  /** Reads a key or range at the current revision. */
  range(request: RangeRequest): RangeResult {
    return this.#range(request, { changed: false }, undefined) as RangeResult;
  }

  /**
   * Reads a key or range at the current revision, as {@link range} does, but materializes each
   * key-value only when asked for it. Consistent: the view holds references to the stored keys
   * and packed entries (immutable strings) copied at this revision, and writes replace entries
   * rather than change them. Taking it costs two references per key (for ranges sorted by key,
   * unfiltered); sorted by another target or filtered, the result is materialized as
   * {@link range} does.
   */
  rangeView(request: RangeRequest): RangeView {
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
   */
  txn(request: TxnRequest, reads: TxnReads = 'all'): TxnResult {
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
    const keys: ByteString[] = [];
    const packed: PackedEntry[] = [];
    this.#keys.scan('', undefined, (key, entry) => {
      keys.push(key);
      packed.push(entry);
    });
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
    this.#revision = revision;
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

  #visibleRevision(context: WriteContext): number {
    return context.changed ? this.#revision + 1 : this.#revision;
  }

  #commit(context: WriteContext): void {
    if (context.changed) this.#revision++;
  }

  /** A range, charged to `budget` if any: `undefined` once the budget is exceeded. */
  #range(
    request: RangeRequest,
    context: WriteContext,
    budget: TxnReadBudget | undefined,
  ): RangeResult | undefined {
    const revision = this.#visibleRevision(context);
    let count = 0;
    if (request.countOnly) {
      visitRange(this.#keys, request.key, request.rangeEnd, () => {
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
    visitRange(this.#keys, request.key, request.rangeEnd, (key, stored) => {
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
    const previous = this.#keys.upsert(request.key, (stored) => {
      if (stored === undefined) return packEntry(revision, revision, 1, request.value);
      const header = unpackHeader(stored);
      return packEntry(header.createRevision, revision, header.version + 1, request.value);
    });
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
    for (const key of doomed) this.#keys.delete(key);
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

  /** A range inside a transaction, read as `reads` says (it never changes the state). */
  #readRange(request: RangeRequest, context: WriteContext, reads: TxnReads): ResponseOp {
    if (reads === 'none') return { type: 'rangeNotRead', revision: this.#visibleRevision(context) };
    const budget = reads === 'all' ? undefined : reads;
    const result = budget?.exceeded === true ? undefined : this.#range(request, context, budget);
    return result === undefined
      ? { type: 'rangeNotRead', revision: this.#visibleRevision(context) }
      : { type: 'range', result };
  }

  #compareHolds(compare: Compare): boolean {
    if (compare.rangeEnd === '') return holds(compare, this.#keys.get(compare.key));
    let matched = 0;
    let allHold = true;
    visitRange(this.#keys, compare.key, compare.rangeEnd, (_key, stored) => {
      matched++;
      allHold = holds(compare, stored);
      return allHold;
    });
    return matched === 0 ? holds(compare, undefined) : allHold;
  }
}
