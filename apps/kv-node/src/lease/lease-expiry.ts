/**
 * The leader's memory of when each lease expires (etcd 3.4's lessor on the primary): deadlines on
 * the leader's monotonic clock, never replicated. Only the leader keeps deadlines; a member that
 * does not lead forgets them all, so it can never expire a lease on its own clock. A member that
 * becomes leader starts every lease afresh with its full TTL plus an election timeout (etcd's
 * `Promote(extend)`): the holder's last keep-alive may have reached the old leader just before
 * it failed, and the holder needs time to find the new one. Pure: the caller passes the time.
 */

import type { LeaseId } from './lease-id.js';
import type { LeaseTable } from './lease-table.js';

/** Deadlines of the leases on the leader's clock (ms). */
export class LeaseExpiry {
  /** Each lease's deadline and the grant it belongs to (an id may be revoked and granted again). */
  readonly #deadlines = new Map<LeaseId, { deadline: number; grantSerial: number }>();
  readonly #extendMs: number;
  #leadingGeneration: number | undefined;
  /** The table's generation at the last sync (deadlines mirror its set of leases). */
  #tableGeneration = -1;

  /** @param extendMs what a new leader adds to every lease's TTL: the election timeout, in ms. */
  constructor(extendMs: number) {
    this.#extendMs = extendMs;
  }

  /** Whether this member keeps deadlines now (it leads). */
  get leading(): boolean {
    return this.#leadingGeneration !== undefined;
  }

  /** Number of deadlines kept. */
  get size(): number {
    return this.#deadlines.size;
  }

  /**
   * Brings the deadlines in line with leadership and the table at `nowMs`: forgotten when not
   * leading; on becoming leader (or leading a new generation) every lease starts again with TTL
   * plus the extension; a lease granted since the last call starts with its TTL; revoked ones
   * are dropped.
   */
  sync(nowMs: number, leading: boolean, generation: number, table: LeaseTable): void {
    if (!leading) {
      this.#leadingGeneration = undefined;
      this.#deadlines.clear();
      return;
    }
    const promoted = this.#leadingGeneration !== generation;
    if (promoted) this.#deadlines.clear();
    this.#leadingGeneration = generation;
    if (!promoted && this.#tableGeneration === table.generation) return;
    this.#tableGeneration = table.generation;
    const extension = promoted ? this.#extendMs : 0;
    for (const id of this.#deadlines.keys()) if (!table.has(id)) this.#deadlines.delete(id);
    for (const lease of table.list()) {
      if (this.#deadlines.get(lease.id)?.grantSerial !== lease.grantSerial) {
        this.#deadlines.set(lease.id, {
          deadline: nowMs + lease.ttlSeconds * 1000 + extension,
          grantSerial: lease.grantSerial,
        });
      }
    }
  }

  /**
   * A keep-alive: lease `id` now expires a full TTL from `nowMs`. Call {@link sync} first.
   * @returns the TTL in seconds, or `undefined` if the lease does not exist or this member does
   *   not lead.
   */
  renew(id: LeaseId, nowMs: number, table: LeaseTable): number | undefined {
    const lease = table.get(id);
    if (lease === undefined || !this.leading) return undefined;
    this.#deadlines.set(id, {
      deadline: nowMs + lease.ttlSeconds * 1000,
      grantSerial: lease.grantSerial,
    });
    return lease.ttlSeconds;
  }

  /**
   * Whole seconds lease `id` has left (etcd truncates), or `undefined` when unknown (not leading,
   * or no such lease). Call {@link sync} first.
   */
  remainingSeconds(id: LeaseId, nowMs: number): number | undefined {
    const entry = this.#deadlines.get(id);
    if (entry === undefined) return undefined;
    return Math.max(0, Math.floor((entry.deadline - nowMs) / 1000));
  }

  /** Up to `max` leases whose deadline has passed at `nowMs` (earliest first). */
  expired(nowMs: number, max: number): LeaseId[] {
    const due: [LeaseId, number][] = [];
    for (const [id, { deadline }] of this.#deadlines) {
      if (deadline <= nowMs) due.push([id, deadline]);
    }
    due.sort((left, right) => left[1] - right[1]);
    return due.slice(0, max).map(([id]) => id);
  }
}
