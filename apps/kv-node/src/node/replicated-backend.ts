/**
 * The HTTP API's backend on a real node: writes and linearizable reads go to the local replica
 * when it leads, and are forwarded to the leader otherwise.
 */

import type { StoreDiskUsage } from '../store/state-store.js';
import type { KvCommand } from '../codec/command-codec.js';
import { encodeCommand } from '../codec/command-codec.js';
import { unavailable } from '../http/api-error.js';
import type { KvBackend, LeaderTransferStart, ClusterStatus } from '../http/kv-backend.js';
import type { AuthState } from '../auth/auth-state.js';
import type { LeaseAnswer, LeaseDriver, LeaseQuery } from '../lease/lease-driver.js';
import type { LeaseTable } from '../lease/lease-table.js';
import type { AlarmTable } from '../store/maintenance-command.js';
import type { KvStore } from '../store/kv-store.js';
import type { ApplyOutcome } from '../store/kv-state-machine.js';
import type { LeaderForwarding } from './leader-forwarding.js';
import type { LocalReplica } from './local-replica.js';
import type { Membership } from '../membership/membership-service.js';

/** A {@link KvBackend} over a {@link LocalReplica}, forwarding to the leader when following. */
export class ReplicatedBackend implements KvBackend {
  readonly #replica: LocalReplica;
  readonly #forwarding: LeaderForwarding;
  readonly #leaseDriver: LeaseDriver | undefined;
  readonly #membership: Membership | undefined;
  /** The read barrier asked of the leader now, if any. */
  #barrierInFlight: Promise<number> | undefined;
  /** The barrier that reads arriving meanwhile share; asked once the one in flight answers. */
  #barrierQueued: Promise<number> | undefined;

  /**
   * @param replica this node's replica.
   * @param forwarding the path to the leader.
   * @param leaseDriver this member's lease clock, which answers lease questions when it leads
   *   (without one, they are refused with 503 here).
   * @param membership the membership service (without one, changes are refused).
   */
  constructor(
    replica: LocalReplica,
    forwarding: LeaderForwarding,
    leaseDriver?: LeaseDriver,
    membership?: Membership,
  ) {
    this.#membership = membership;
    this.#replica = replica;
    this.#forwarding = forwarding;
    this.#leaseDriver = leaseDriver;
  }

  /** The local lease table. */
  get leases(): LeaseTable {
    return this.#replica.leases;
  }

  /** Asks the local lease clock when leading, else the leader's. */
  leaseQuery(query: LeaseQuery): Promise<LeaseAnswer> {
    if (this.#replica.isLeader()) {
      if (this.#leaseDriver === undefined) {
        return Promise.reject(unavailable('this member keeps no lease clock'));
      }
      return this.#leaseDriver.answer(query);
    }
    const leader = this.#replica.leaderName();
    if (leader === undefined) {
      return Promise.reject(unavailable('etcdserver: no leader', 'no_leader'));
    }
    return this.#forwarding.forwardLeaseQuery(leader, query);
  }

  /** The local store. */
  get store(): KvStore {
    return this.#replica.store;
  }

  /** The local auth state. */
  get auth(): AuthState {
    return this.#replica.auth;
  }

  /** The local replica's alarms. */
  get alarms(): AlarmTable {
    return this.#replica.alarms;
  }

  /** Proposes locally when leading, else forwards to the leader. */
  write(command: KvCommand): Promise<ApplyOutcome> {
    const encoded = encodeCommand(command);
    if (this.#replica.isLeader()) return this.#replica.propose(encoded);
    const leader = this.#replica.leaderName();
    if (leader === undefined) {
      return Promise.reject(unavailable('etcdserver: no leader', 'no_leader'));
    }
    return this.#forwarding.forwardWrite(leader, encoded);
  }

  /** A read barrier locally when leading, else from the leader; then waits to apply its index. */
  async readBarrier(): Promise<void> {
    let index: number;
    if (this.#replica.isLeader()) {
      index = await this.#replica.readBarrier();
    } else {
      const leader = this.#replica.leaderName();
      if (leader === undefined) throw unavailable('etcdserver: no leader', 'no_leader');
      index = await this.#sharedBarrier(leader);
    }
    await this.#replica.waitForApplied(index);
  }

  /**
   * Batches forwarded read barriers: a read joins the next barrier asked of the leader, never
   * one already in flight (which may predate the read and so not cover writes acknowledged
   * before it arrived). Under load this is one round trip per batch instead of per read.
   */
  #sharedBarrier(leader: string): Promise<number> {
    if (this.#barrierInFlight === undefined) {
      this.#barrierInFlight = this.#forwarding.forwardReadBarrier(leader).finally(() => {
        this.#barrierInFlight = undefined;
      });
      return this.#barrierInFlight;
    }
    this.#barrierQueued ??= this.#barrierInFlight
      .catch(() => undefined)
      .then(() => {
        this.#barrierQueued = undefined;
        const current = this.#replica.leaderName();
        if (current === undefined) throw unavailable('etcdserver: no leader', 'no_leader');
        return this.#sharedBarrier(current);
      });
    return this.#barrierQueued;
  }

  /** The membership service, if this node has one. */
  membership(): Membership | undefined {
    return this.#membership;
  }

  /** This node's status. */
  status(): ClusterStatus {
    return this.#replica.status();
  }

  /** Asks the local replica, if it leads, to hand leadership over. */
  transferLeadership(toMemberId: string): Promise<LeaderTransferStart> {
    if (this.#replica.transferLeadership === undefined) return Promise.resolve('not_leader');
    return this.#replica.transferLeadership(toMemberId);
  }

  /**
   * The local replica's state-machine snapshot.
   *
   * @throws Error if the replica cannot give one.
   */
  snapshotChunks(): Iterable<Uint8Array> {
    if (this.#replica.snapshotChunks === undefined) {
      throw new Error('this replica cannot give a state machine snapshot');
    }
    return this.#replica.snapshotChunks();
  }

  /** The local durable state store's file size and use; `undefined` in memory. */
  diskUsage(): StoreDiskUsage | undefined {
    return this.#replica.diskUsage?.();
  }
}
