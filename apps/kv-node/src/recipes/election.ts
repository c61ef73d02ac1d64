/**
 * Leader election as a lock whose key names the candidate (etcd's `concurrency.Election`): the
 * candidate whose key was created first leads; the others wait in line behind it; a leader that
 * dies loses its lease and the next in line takes over. The leader's fencing token (its key's
 * create revision) fences what it writes, exactly as for the lock.
 */

import type { EtcdJsonClient } from './etcd-json-client.js';
import { fromBase64, prefixEnd, toBase64 } from './etcd-json-client.js';
import type { HeldLock, LockOptions } from './lock.js';
import { DistributedLock } from './lock.js';

/** Who leads an election now. */
export interface ElectedLeader {
  /** The leader's name, as it campaigned. */
  name: string;
  /** Its fencing token: the create revision of its key. */
  token: number;
}

/** An election among candidates that use the same name. */
export class LeaderElection {
  /**
   * @param client a client of any member.
   * @param name the election's name, a key prefix.
   * @param options the lease's TTL (see {@link LockOptions}).
   */
  constructor(
    private readonly client: EtcdJsonClient,
    readonly name: string,
    private readonly options: Omit<LockOptions, 'value'> = {},
  ) {}

  /** Campaigns as `candidate` and resolves once it leads; `release()` resigns. */
  campaign(candidate: string, signal?: AbortSignal): Promise<HeldLock> {
    return new DistributedLock(this.client, this.name, {
      ...this.options,
      value: candidate,
    }).acquire(signal);
  }

  /** The current leader, or `undefined` when nobody campaigns. */
  async leader(): Promise<ElectedLeader | undefined> {
    const answer = await this.client.range({
      key: toBase64(`${this.name}/`),
      range_end: prefixEnd(`${this.name}/`),
      sort_order: 'ASCEND',
      sort_target: 'CREATE',
      limit: 1,
    });
    const first = answer.kvs?.[0];
    if (first === undefined) return undefined;
    return { name: fromBase64(first.value ?? ''), token: Number(first.create_revision) };
  }
}
