/**
 * The idempotent receiver's memory: client request id -> the first result of that request, kept
 * in the replicated state so every replica (and every future leader) answers a retry the same way.
 * It remembers what a write did, never what it read: the ranges of a write transaction are kept
 * as `rangeNotRead` and previous key-values are dropped (see {@link retainedResult}), so an entry
 * costs a few bytes per operation and a snapshot never carries values read.
 *
 * Bounded two ways, both deterministic because they depend only on applied entries: at most
 * `maxEntries` ids (oldest evicted first), and an id expires once the store revision has moved
 * `retainRevisions` past the revision it was recorded at.
 */

import type { ResponseOp } from './kv-types.js';

/** The result of a replicated write command (a put, delete-range or txn result). */
export type CommandResult = Exclude<ResponseOp, { type: 'range' } | { type: 'rangeNotRead' }>;

/** One operation's result without what it read, or the operation itself when it read nothing. */
function withoutReads(response: ResponseOp): ResponseOp {
  switch (response.type) {
    case 'range':
      return { type: 'rangeNotRead', revision: response.result.revision };
    case 'rangeNotRead':
      return response;
    case 'put':
      return response.result.prevKv === undefined
        ? response
        : { type: 'put', result: { revision: response.result.revision, prevNotRead: true } };
    case 'deleteRange': {
      const result = response.result;
      return result.prevKvs.length === 0
        ? response
        : {
            type: 'deleteRange',
            result: {
              deleted: result.deleted,
              prevKvs: [],
              revision: result.revision,
              prevNotRead: true,
            },
          };
    }
    case 'txn': {
      let responses: ResponseOp[] | undefined;
      const original = response.result.responses;
      for (let index = 0; index < original.length; index++) {
        const each = original[index] as ResponseOp;
        const kept = withoutReads(each);
        if (kept !== each) responses ??= original.slice(0, index);
        responses?.push(kept);
      }
      return responses === undefined
        ? response
        : { type: 'txn', result: { ...response.result, responses } };
    }
  }
}

/**
 * What the table keeps of a result: what the write did, not what it read. Every range of a
 * transaction (at any nesting) becomes `rangeNotRead`, and previous key-values (`prev_kv`) are
 * dropped and marked `prevNotRead`. Returns `result` itself when it read nothing.
 */
export function retainedResult(result: CommandResult): CommandResult {
  return withoutReads(result) as CommandResult;
}

/**
 * Whether a result lacks something it read: a range not read, or a previous key-value not kept
 * (at any nesting). Such a result must not be shown to a client as if it were complete.
 */
export function hasUnreadResult(result: ResponseOp): boolean {
  switch (result.type) {
    case 'rangeNotRead':
      return true;
    case 'range':
      return false;
    case 'put':
    case 'deleteRange':
      return result.result.prevNotRead === true;
    case 'txn':
      return result.result.responses.some(hasUnreadResult);
  }
}

/** What the table remembers per request id. */
export interface RememberedResult {
  /** Store revision after the request was applied. */
  revision: number;
  /** Fingerprint of the request body, to detect an id reused for a different request. */
  bodyFingerprint: number;
  result: CommandResult;
}

/** Bounds of an {@link IdempotencyTable}. */
export interface IdempotencyLimits {
  /** Most request ids remembered. */
  maxEntries: number;
  /** Revisions after which a remembered id is forgotten. */
  retainRevisions: number;
}

/** Defaults: enough for minutes of retries at tens of thousands of writes per second. */
export const DEFAULT_IDEMPOTENCY_LIMITS: IdempotencyLimits = {
  maxEntries: 100_000,
  retainRevisions: 1_000_000,
};

/**
 * The table as a queue of numbered ids, for a durable store that keeps each id as a record of
 * its own (`lmdb-remembered-records.ts`): ids are numbered in the order they are remembered and
 * expire oldest first, so between two commits the records change only by the ids numbered from
 * the last commit's {@link RememberedJournal.nextSequence} (new) and those below
 * {@link RememberedJournal.firstSequence} (expired). A clear, or an id remembered again in
 * place, numbers every id anew past the last number given.
 */
export interface RememberedJournal {
  /** The number of the oldest id remembered (`nextSequence` when none is). */
  readonly firstSequence: number;
  /** The number the next id remembered gets. */
  readonly nextSequence: number;
  /** The ids remembered and their results, numbered from `sequence` (or the oldest) on. */
  entriesFrom(sequence: number): Iterable<[number, string, RememberedResult]>;
}

/** A bounded map from request id to first result, in the order results were recorded. */
export class IdempotencyTable implements RememberedJournal {
  // A Map iterates in insertion order, and revisions only grow, so the oldest entry is first.
  readonly #entries = new Map<string, RememberedResult>();
  /**
   * The ids in the order they were first remembered, oldest from `#oldest` on: what `expire`
   * walks. Not the Map's own iteration, which starts at the Map's first slot and steps over
   * every slot deleted since V8 last rebuilt the table: with the table full, each put evicts
   * one id, so each `expire` stepped over up to `maxEntries` deleted slots (half the CPU of a
   * put with a request id at 100,000 remembered ids).
   */
  #order: string[] = [];
  #oldest = 0;
  /** The number of `#order[0]` (see {@link RememberedJournal}). */
  #base = 0;
  readonly #limits: IdempotencyLimits;

  /** @param limits see {@link IdempotencyLimits}. */
  constructor(limits: IdempotencyLimits = DEFAULT_IDEMPOTENCY_LIMITS) {
    this.#limits = limits;
  }

  /** Number of remembered ids. */
  get size(): number {
    return this.#entries.size;
  }

  /** The remembered result for `requestId`, if any. */
  lookup(requestId: string): RememberedResult | undefined {
    return this.#entries.get(requestId);
  }

  /** Remembers the first result of `requestId`, without what it read ({@link retainedResult}). */
  remember(requestId: string, remembered: RememberedResult): void {
    const result = retainedResult(remembered.result);
    if (this.#entries.has(requestId)) this.#renumber();
    else this.#order.push(requestId);
    this.#entries.set(
      requestId,
      result === remembered.result ? remembered : { ...remembered, result },
    );
  }

  /** Forgets entries beyond the bounds, given the store revision now. */
  expire(currentRevision: number): void {
    const oldestKept = currentRevision - this.#limits.retainRevisions;
    const order = this.#order;
    while (this.#oldest < order.length) {
      const requestId = order[this.#oldest] as string;
      const remembered = this.#entries.get(requestId) as RememberedResult;
      if (this.#entries.size <= this.#limits.maxEntries && remembered.revision >= oldestKept) break;
      this.#entries.delete(requestId);
      this.#oldest++;
    }
    // Drop the expired ids' slots once they are half the array (amortized O(1) per id).
    if (this.#oldest > 1024 && this.#oldest * 2 > order.length) {
      this.#order = order.slice(this.#oldest);
      this.#base += this.#oldest;
      this.#oldest = 0;
    }
  }

  get firstSequence(): number {
    return this.#base + this.#oldest;
  }

  get nextSequence(): number {
    return this.#base + this.#order.length;
  }

  *entriesFrom(sequence: number): Iterable<[number, string, RememberedResult]> {
    const order = this.#order;
    for (let at = Math.max(sequence - this.#base, this.#oldest); at < order.length; at++) {
      const requestId = order[at] as string;
      yield [this.#base + at, requestId, this.#entries.get(requestId) as RememberedResult];
    }
  }

  /**
   * Takes up the ids a durable store kept as records, oldest first, numbered from
   * `firstSequence` on, in place of what the table held.
   */
  resume(firstSequence: number, entries: Iterable<[string, RememberedResult]>): void {
    this.#entries.clear();
    this.#order = [];
    this.#oldest = 0;
    this.#base = firstSequence;
    for (const [requestId, remembered] of entries) {
      this.#order.push(requestId);
      this.#entries.set(requestId, remembered);
    }
  }

  /** Numbers the ids remembered anew, past every number given (see {@link RememberedJournal}). */
  #renumber(): void {
    const next = this.nextSequence;
    this.#order = this.#order.slice(this.#oldest);
    this.#oldest = 0;
    this.#base = next;
  }

  /** Visits every entry, oldest first (for snapshots). */
  forEach(visit: (requestId: string, remembered: RememberedResult) => void): void {
    for (const [requestId, remembered] of this.#entries) visit(requestId, remembered);
  }

  /** Forgets everything (before a restore). */
  clear(): void {
    this.#base = this.nextSequence;
    this.#entries.clear();
    this.#order = [];
    this.#oldest = 0;
  }
}
