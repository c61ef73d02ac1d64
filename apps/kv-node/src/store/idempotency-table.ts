/**
 * The idempotent receiver's memory: client request id -> the first result of that request, kept
 * in the replicated state so every replica (and every future leader) answers a retry the same way.
 * It remembers what a write did, never what it read: the ranges of a write transaction are kept
 * as `rangeNotRead` (see {@link retainedResult}), so an entry costs a few bytes per operation and
 * a snapshot never carries range results.
 *
 * Bounded two ways, both deterministic because they depend only on applied entries: at most
 * `maxEntries` ids (oldest evicted first), and an id expires once the store revision has moved
 * `retainRevisions` past the revision it was recorded at.
 */

import type { ResponseOp, TxnResult } from './kv-types.js';

/** The result of a replicated write command (a put, delete-range or txn result). */
export type CommandResult = Exclude<ResponseOp, { type: 'range' } | { type: 'rangeNotRead' }>;

function txnWithoutReads(result: TxnResult): TxnResult {
  let copy: ResponseOp[] | undefined;
  for (let index = 0; index < result.responses.length; index++) {
    const response = result.responses[index] as ResponseOp;
    let kept: ResponseOp = response;
    if (response.type === 'range') {
      kept = { type: 'rangeNotRead', revision: response.result.revision };
    } else if (response.type === 'txn') {
      const inner = txnWithoutReads(response.result);
      if (inner !== response.result) kept = { type: 'txn', result: inner };
    }
    if (kept !== response) {
      copy ??= result.responses.slice(0, index);
    }
    copy?.push(kept);
  }
  return copy === undefined ? result : { ...result, responses: copy };
}

/**
 * What the table keeps of a result: the same result with every range of a transaction (at any
 * nesting) replaced by `rangeNotRead`. Returns `result` itself when it holds no range.
 */
export function retainedResult(result: CommandResult): CommandResult {
  if (result.type !== 'txn') return result;
  const retained = txnWithoutReads(result.result);
  return retained === result.result ? result : { type: 'txn', result: retained };
}

/** Whether a result holds a range that was not read (at any nesting). */
export function hasUnreadRange(result: CommandResult | ResponseOp): boolean {
  if (result.type === 'rangeNotRead') return true;
  if (result.type !== 'txn') return false;
  return result.result.responses.some(hasUnreadRange);
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

/** A bounded map from request id to first result, in the order results were recorded. */
export class IdempotencyTable {
  // A Map iterates in insertion order, and revisions only grow, so the oldest entry is first.
  readonly #entries = new Map<string, RememberedResult>();
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
    this.#entries.set(
      requestId,
      result === remembered.result ? remembered : { ...remembered, result },
    );
  }

  /** Forgets entries beyond the bounds, given the store revision now. */
  expire(currentRevision: number): void {
    const oldestKept = currentRevision - this.#limits.retainRevisions;
    for (const [requestId, remembered] of this.#entries) {
      if (this.#entries.size <= this.#limits.maxEntries && remembered.revision >= oldestKept) break;
      this.#entries.delete(requestId);
    }
  }

  /** Visits every entry, oldest first (for snapshots). */
  forEach(visit: (requestId: string, remembered: RememberedResult) => void): void {
    for (const [requestId, remembered] of this.#entries) visit(requestId, remembered);
  }

  /** Forgets everything (before a restore). */
  clear(): void {
    this.#entries.clear();
  }
}
