/**
 * A test replica: a one-member "cluster" whose log commits instantly, behind the real
 * LocalReplica port, so startNode can be tested without the replication driver.
 */

import type { ClusterStatus } from '../../src/http/kv-backend.js';
import { RequestWaitingList } from '@x/high-water-mark';
import type { LocalReplica } from '../../src/node/local-replica.js';
import type { ReplicaRuntime, ReplicaStartOptions } from '../../src/node/replica-runtime.js';
import type { ApplyOutcome } from '../../src/store/kv-state-machine.js';
import { KvStateMachine } from '../../src/store/kv-state-machine.js';

export class SingleReplica implements LocalReplica {
  readonly machine = new KvStateMachine();
  readonly appliedWaiters = new RequestWaitingList();
  #index = 0;

  constructor(readonly options: ReplicaStartOptions) {}

  get store() {
    return this.machine.store;
  }
  get auth() {
    return this.machine.auth;
  }
  get leases() {
    return this.machine.leases;
  }

  get alarms() {
    return this.machine.alarms;
  }
  isLeader(): boolean {
    return true;
  }
  leaderName(): string {
    return this.options.config.name;
  }
  propose(command: Uint8Array): Promise<ApplyOutcome> {
    const outcome = this.machine.apply(++this.#index, command);
    this.appliedWaiters.advanceTo(this.#index);
    return outcome === undefined
      ? Promise.reject(new Error('no outcome'))
      : Promise.resolve(outcome);
  }
  readBarrier(): Promise<number> {
    return Promise.resolve(this.#index);
  }
  waitForApplied(index: number): Promise<void> {
    const waiters = this.appliedWaiters;
    return index <= waiters.reachedIndex ? Promise.resolve() : waiters.add(index);
  }
  status(): ClusterStatus {
    const config = this.options.config;
    return {
      clusterId: config.clusterId,
      memberId: config.memberId,
      name: config.name,
      role: 'leader',
      generation: 1,
      leaderId: config.memberId,
      lastLogIndex: this.#index,
      highWaterMark: this.#index,
      appliedIndex: this.#index,
      // No log is ever released here: there is no snapshot.
      snapshotIndex: 0,
      lowWaterMark: 0,
      members: config.members.map((member) => ({
        id: member.id,
        name: member.name,
        peerUrls: member.peerUrls,
        clientUrls: config.advertiseClientUrls,
        role: 'leader',
      })),
    };
  }
}

/** Starts a {@link SingleReplica}; records calls for assertions. */
export function singleReplicaStarter(events: string[]) {
  return (options: ReplicaStartOptions): Promise<ReplicaRuntime> => {
    events.push('start');
    return Promise.resolve({
      replica: new SingleReplica(options),
      nodeTransport: { send: () => undefined, onMessage: () => undefined },
      failed: new Promise<Error>(() => undefined),
      transferLeadership: () => {
        events.push('transfer');
        return Promise.resolve();
      },
      close: () => {
        events.push('close');
        return Promise.resolve();
      },
    });
  };
}
