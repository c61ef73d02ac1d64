/**
 * A backend that answers 503 until the replica has started, so the client port can be bound
 * first: a port conflict then fails startup at once, before any log is opened.
 */

import type { StoreDiskUsage } from '../store/state-store.js';
import type { Membership } from '../membership/membership-service.js';
import type { KvCommand } from '../codec/command-codec.js';
import { unavailable } from '../http/api-error.js';
import type { KvBackend, LeaderTransferStart, ClusterStatus } from '../http/kv-backend.js';
import { AuthState } from '../auth/auth-state.js';
import type { LeaseAnswer, LeaseQuery } from '../lease/lease-driver.js';
import { LeaseTable } from '../lease/lease-table.js';
import { AlarmTable } from '../store/maintenance-command.js';
import type { KvStore } from '../store/kv-store.js';
import type { ApplyOutcome } from '../store/kv-state-machine.js';

/** Delegates to a backend set later; before that, every call fails with 503 "starting". */
export class SwitchableBackend implements KvBackend {
  #target: KvBackend | undefined;
  readonly #startingStore: KvStore;
  readonly #startingAuth = new AuthState();
  readonly #startingLeases = new LeaseTable();
  readonly #startingAlarms = new AlarmTable();
  readonly #startingStatus: () => ClusterStatus;

  /**
   * @param startingStore an (empty) store to show while starting.
   * @param startingStatus the status to report while starting.
   */
  constructor(startingStore: KvStore, startingStatus: () => ClusterStatus) {
    this.#startingStore = startingStore;
    this.#startingStatus = startingStatus;
  }

  /** Switches every later call to `target`. */
  setTarget(target: KvBackend): void {
    this.#target = target;
  }

  /** The target's store, or the starting store. */
  get store(): KvStore {
    return this.#target?.store ?? this.#startingStore;
  }

  /** The target's auth state, or an empty one (auth disabled) while starting. */
  get auth(): AuthState {
    return this.#target?.auth ?? this.#startingAuth;
  }

  /** The target's lease table, or an empty one while starting. */
  get leases(): LeaseTable {
    return this.#target?.leases ?? this.#startingLeases;
  }

  /** Forwards to the target; 503 while starting. */
  leaseQuery(query: LeaseQuery): Promise<LeaseAnswer> {
    if (this.#target === undefined) return Promise.reject(unavailable('this node is starting'));
    return this.#target.leaseQuery(query);
  }

  /** The target's alarms, or none while starting. */
  get alarms(): AlarmTable {
    return this.#target?.alarms ?? this.#startingAlarms;
  }

  /** Forwards to the target; 503 while starting. */
  write(command: KvCommand): Promise<ApplyOutcome> {
    if (this.#target === undefined) return Promise.reject(unavailable('this node is starting'));
    return this.#target.write(command);
  }

  /** Forwards to the target; 503 while starting. */
  readBarrier(): Promise<void> {
    if (this.#target === undefined) return Promise.reject(unavailable('this node is starting'));
    return this.#target.readBarrier();
  }

  /** The target's status, or the starting status. */
  status(): ClusterStatus {
    return this.#target?.status() ?? this.#startingStatus();
  }

  /** Forwards to the target; not the leader while starting. */
  transferLeadership(toMemberId: string): Promise<LeaderTransferStart> {
    if (this.#target?.transferLeadership === undefined) return Promise.resolve('not_leader');
    return this.#target.transferLeadership(toMemberId);
  }

  /** The target's membership service; none while starting. */
  membership(): Membership | undefined {
    return this.#target?.membership?.();
  }

  /** The target's state-machine snapshot; 503 while starting. */
  snapshotChunks(): Iterable<Uint8Array> {
    if (this.#target?.snapshotChunks === undefined) throw unavailable('this node is starting');
    return this.#target.snapshotChunks();
  }

  /** The target's durable state store's file size and use; `undefined` while starting. */
  diskUsage(): StoreDiskUsage | undefined {
    return this.#target?.diskUsage?.();
  }
}
