/**
 * The idempotent receiver's memory: client request id -> the first result of that request, kept
 * in the replicated state so every replica (and every future leader) answers a retry the same way.
 *
 * Bounded two ways, both deterministic because they depend only on applied entries: at most
 * `maxEntries` ids (oldest evicted first), and an id expires once the store revision has moved
 * `retainRevisions` past the revision it was recorded at.
 */

import type { ResponseOp } from './kv-types.js';

/** The result of a replicated write command (a put, delete-range or txn result). */
export type CommandResult = Exclude<ResponseOp, { type: 'range' }>;

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

  /** Remembers the first result of `requestId`. */
  remember(requestId: string, remembered: RememberedResult): void {
    this.#entries.set(requestId, remembered);
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
