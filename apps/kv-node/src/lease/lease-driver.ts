/**
 * The leader's lease clock at work: every tick it syncs its deadlines (see `lease-expiry.ts`)
 * with leadership and the replicated table and proposes a revoke through the log for each lease
 * past its deadline, so every member deletes the keys at the same revision. It also answers
 * keep-alives and time-to-live questions, on the leader only, after catching up with the log (a
 * new leader must know every committed grant before it answers "not found").
 */

import type { Timers } from '../http/api-context.js';
import { unavailable } from '../http/api-error.js';
import type { Logger } from '../logging/logger.js';
import type { LeaseCommand } from './lease-command.js';
import { LeaseExpiry } from './lease-expiry.js';
import type { LeaseId } from './lease-id.js';
import type { LeaseTable } from './lease-table.js';

/** How often the leader looks for expired leases (etcd checks every 500 ms). */
export const LEASE_TICK_MS = 500;

/** Most expired leases revoked per tick (etcd revokes at most 1,000 a second). */
export const MAX_REVOKES_PER_TICK = 500;

/** A question about a lease's time, answered by the leader. */
export interface LeaseQuery {
  op: 'keepAlive' | 'timeToLive';
  id: LeaseId;
}

/** The leader's answer: the lease's granted TTL and what is left of it; `undefined`: no lease. */
export type LeaseAnswer = { grantedSeconds: number; remainingSeconds: number } | undefined;

/** What the driver needs of the local replica. */
export interface LeaseDriverReplica {
  /** Whether this member leads now. */
  isLeader(): boolean;
  /** The generation (term) this member is in. */
  generation(): number;
  /**
   * Resolves once this member (as leader) has applied every entry committed before the call.
   * @throws ApiError when leadership cannot be confirmed.
   */
  catchUp(): Promise<void>;
  /** Proposes a lease command through the log (leader only) and resolves once applied. */
  proposeLease(command: LeaseCommand): Promise<unknown>;
}

/** Options of {@link LeaseDriver}. */
export interface LeaseDriverOptions {
  replica: LeaseDriverReplica;
  /** The replicated table (the state machine's). */
  table: LeaseTable;
  /** Monotonic clock in ms. */
  now: () => number;
  timers: Timers;
  /** The election timeout in ms: what a new leader adds to every lease. */
  electionTimeoutMs: number;
  logger?: Logger;
  /** Tick interval in ms (default {@link LEASE_TICK_MS}). */
  tickMs?: number;
}

/** Expires leases on the leader and answers keep-alives. */
export class LeaseDriver {
  readonly #options: LeaseDriverOptions;
  readonly #expiry: LeaseExpiry;
  /** Revokes proposed and not yet settled: not proposed again meanwhile. */
  readonly #revoking = new Set<LeaseId>();
  #handle: unknown;
  #stopped = true;

  /** @param options see {@link LeaseDriverOptions}. */
  constructor(options: LeaseDriverOptions) {
    this.#options = options;
    this.#expiry = new LeaseExpiry(options.electionTimeoutMs);
  }

  /** Starts ticking. */
  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#schedule();
  }

  /** Stops ticking (revokes in flight settle on their own). */
  stop(): void {
    this.#stopped = true;
    if (this.#handle !== undefined) this.#options.timers.clearTimeout(this.#handle);
    this.#handle = undefined;
  }

  /** Syncs deadlines and proposes revokes of expired leases; what each tick does. */
  tick(): void {
    const { replica, table, now } = this.#options;
    const nowMs = now();
    this.#expiry.sync(nowMs, replica.isLeader(), replica.generation(), table);
    if (!this.#expiry.leading) return;
    const due = this.#expiry.expired(nowMs, MAX_REVOKES_PER_TICK + this.#revoking.size);
    for (const id of due) {
      if (this.#revoking.has(id) || this.#revoking.size >= MAX_REVOKES_PER_TICK) continue;
      this.#revoking.add(id);
      replica
        .proposeLease({ op: 'revoke', id, expired: true })
        .catch((error: unknown) => {
          // Not leader any more, or no quorum: the next leader (or the next tick) tries again.
          this.#options.logger?.debug(
            { lease: id, err: error },
            'revoking an expired lease failed',
          );
        })
        .finally(() => this.#revoking.delete(id));
    }
  }

  /**
   * Answers a keep-alive (renews the lease) or a time-to-live question, as leader.
   * @throws ApiError 503 when this member does not lead (or stops leading meanwhile).
   */
  async answer(query: LeaseQuery): Promise<LeaseAnswer> {
    const { replica, table, now } = this.#options;
    if (!replica.isLeader()) throw unavailable('etcdserver: not leader', 'no_leader');
    await replica.catchUp();
    if (!replica.isLeader()) throw unavailable('etcdserver: not leader', 'no_leader');
    const nowMs = now();
    this.#expiry.sync(nowMs, true, replica.generation(), table);
    const lease = table.get(query.id);
    if (lease === undefined) return undefined;
    if (query.op === 'keepAlive') this.#expiry.renew(query.id, nowMs, table);
    const remainingSeconds = this.#expiry.remainingSeconds(query.id, nowMs) ?? lease.ttlSeconds;
    return { grantedSeconds: lease.ttlSeconds, remainingSeconds };
  }

  #schedule(): void {
    this.#handle = this.#options.timers.setTimeout(() => {
      this.#handle = undefined;
      if (this.#stopped) return;
      try {
        this.tick();
      } finally {
        this.#schedule();
      }
    }, this.#options.tickMs ?? LEASE_TICK_MS);
  }
}
