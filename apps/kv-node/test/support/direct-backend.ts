/**
 * A test double of the replicated node: applies each write straight to one state machine, as a
 * single-node cluster whose log commits instantly. Lives under test/ so it never ships.
 */

import type { KvCommand } from '../../src/codec/command-codec.js';
import { encodeCommand } from '../../src/codec/command-codec.js';
import { indeterminate, unavailable } from '../../src/http/api-error.js';
import type { KvBackend, ClusterStatus } from '../../src/http/kv-backend.js';
import type { AuthState } from '../../src/auth/auth-state.js';
import type { AlarmTable } from '../../src/store/maintenance-command.js';
import type { KvStore } from '../../src/store/kv-store.js';
import type { ApplyOutcome } from '../../src/store/kv-state-machine.js';
import { KvStateMachine } from '../../src/store/kv-state-machine.js';
import type { LeaseAnswer, LeaseQuery } from '../../src/lease/lease-driver.js';
import { LeaseDriver } from '../../src/lease/lease-driver.js';
import type { LeaseTable } from '../../src/lease/lease-table.js';

/** How the double answers: normally, or failing as a real cluster might. */
export type BackendMode = 'ok' | 'no_leader' | 'indeterminate' | 'hang';

export class DirectBackend implements KvBackend {
  readonly machine = new KvStateMachine();
  mode: BackendMode = 'ok';
  writes = 0;
  reads = 0;
  #index = 0;
  /**
   * The lease clock of this one-member "cluster" (always leader, on the real monotonic clock).
   * It answers keep-alives; it expires leases only once {@link startLeaseClock} is called.
   */
  readonly leaseDriver = new LeaseDriver({
    replica: {
      isLeader: () => this.mode !== 'no_leader',
      generation: () => 2,
      catchUp: () => Promise.resolve(),
      proposeLease: (request) => this.write({ type: 'lease', request }),
    },
    table: this.machine.leases,
    now: () => performance.now(),
    timers: {
      setTimeout: (callback, delayMs) => setTimeout(callback, delayMs).unref(),
      clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
    },
    electionTimeoutMs: 1000,
  });

  get store(): KvStore {
    return this.machine.store;
  }

  get auth(): AuthState {
    return this.machine.auth;
  }

  get leases(): LeaseTable {
    return this.machine.leases;
  }

  /** Starts expiring leases (stopped with {@link stopLeaseClock}). */
  startLeaseClock(): void {
    this.leaseDriver.start();
  }

  stopLeaseClock(): void {
    this.leaseDriver.stop();
  }

  leaseQuery(query: LeaseQuery): Promise<LeaseAnswer> {
    if (this.mode === 'no_leader') {
      return Promise.reject(unavailable('etcdserver: no leader', 'no_leader'));
    }
    return this.leaseDriver.answer(query);
  }

  get alarms(): AlarmTable {
    return this.machine.alarms;
  }

  write(command: KvCommand): Promise<ApplyOutcome> {
    this.writes++;
    switch (this.mode) {
      case 'no_leader':
        return Promise.reject(unavailable('etcdserver: no leader', 'no_leader'));
      case 'indeterminate':
        // Applied, but the answer is lost: the client must be told the outcome is unknown.
        this.machine.apply(++this.#index, encodeCommand(command));
        return Promise.reject(indeterminate('etcdserver: leadership lost while waiting'));
      case 'hang':
        return new Promise(() => undefined);
      case 'ok': {
        const outcome = this.machine.apply(++this.#index, encodeCommand(command));
        if (outcome === undefined) throw new Error('no outcome');
        return Promise.resolve(outcome);
      }
    }
  }

  readBarrier(): Promise<void> {
    this.reads++;
    if (this.mode === 'no_leader') {
      return Promise.reject(unavailable('etcdserver: no leader', 'no_leader'));
    }
    if (this.mode === 'hang') return new Promise(() => undefined);
    return Promise.resolve();
  }

  status(): ClusterStatus {
    const leader = this.mode === 'no_leader' ? undefined : '10276657743932975437';
    return {
      clusterId: '14841639068965178418',
      memberId: '10276657743932975437',
      name: 'node-1',
      role: leader === undefined ? 'follower' : 'leader',
      generation: 2,
      leaderId: leader,
      lastLogIndex: this.#index,
      highWaterMark: this.#index,
      appliedIndex: this.#index,
      // No log is ever released here: there is no snapshot.
      snapshotIndex: 0,
      lowWaterMark: 0,
      members: [
        {
          id: '10276657743932975437',
          name: 'node-1',
          peerUrls: ['http://127.0.0.1:2380'],
          clientUrls: ['http://127.0.0.1:2379'],
          role: 'leader',
          matchIndex: this.#index,
          lag: 0,
          lastContactAgoMs: 0,
        },
      ],
    };
  }
}
