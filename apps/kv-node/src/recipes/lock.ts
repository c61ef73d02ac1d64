/**
 * A distributed lock from three etcd primitives, as etcd's own `concurrency.Mutex` builds it:
 *
 * 1. **A lease** ({@link LeaseKeeper}): the lock key is attached to it, so a holder that dies or
 *    is cut off for longer than the TTL frees the lock by itself.
 * 2. **A txn on create revision**: each contender creates `<name>/<lease id>` once (compare
 *    `create_revision == 0`); the revision that created it orders the contenders, first come first
 *    served, and is the holder's **fencing token**.
 * 3. **A watch of the predecessor**: a contender waits for the deletion of the key created just
 *    before its own (not for every change of the prefix: no thundering herd), then checks again.
 *
 * Holding the lock is a belief that can be out of date (a pause longer than the TTL, a partition),
 * so a holder's writes must be fenced: {@link HeldLock.fence} is a compare that makes a txn fail
 * unless the holder's key still exists with its create revision. A holder whose lease ran out
 * cannot write, even if it still believes it holds the lock.
 */

import type { EtcdJsonClient, GatewayKeyValue } from './etcd-json-client.js';
import { fromBase64, prefixEnd, toBase64 } from './etcd-json-client.js';
import { LeaseKeeper } from './lease-keeper.js';

/** The lease under a contender's key ran out while it waited: it is no longer in line. */
export class LockLostError extends Error {
  /** @param key the contender's key. */
  constructor(readonly key: string) {
    super(`the lease under ${key} ran out: the lock was not acquired`);
    this.name = 'LockLostError';
  }
}

/** A compare clause of the gateway's txn. */
export interface GatewayCompare {
  target: 'CREATE';
  key: string;
  create_revision: string;
}

/** The lock, held. */
export interface HeldLock {
  /** The holder's key, `<name>/<lease id>`. */
  readonly key: string;
  /** The revision that created the key: increases with every holder, the fencing token. */
  readonly token: number;
  /** The lease under the key. */
  readonly lease: LeaseKeeper;
  /** The compare that fences a txn: it succeeds only while this holder's key is unchanged. */
  fence(): GatewayCompare;
  /** Deletes the key (the next contender goes on) and revokes the lease. */
  release(): Promise<void>;
}

/** Options of {@link DistributedLock}. */
export interface LockOptions {
  /** The lease's TTL in seconds (default 10): how long a dead holder blocks the others. */
  ttlSeconds?: number;
  /** Stored in the contender's key (the election uses it for the candidate's name). */
  value?: string;
}

/** A named lock: every contender that uses the same client prefix contends for it. */
export class DistributedLock {
  /**
   * @param client a client of any member.
   * @param name the lock's name, a key prefix (contenders' keys are `<name>/<lease id>`).
   * @param options see {@link LockOptions}.
   */
  constructor(
    private readonly client: EtcdJsonClient,
    readonly name: string,
    private readonly options: LockOptions = {},
  ) {}

  /**
   * Joins the line and resolves once every contender ahead has released (or lost its lease).
   * @throws LockLostError if this contender's own lease ran out while it waited.
   */
  async acquire(signal?: AbortSignal): Promise<HeldLock> {
    const lease = await LeaseKeeper.grant(this.client, this.options.ttlSeconds ?? 10);
    const key = `${this.name}/${lease.id}`;
    try {
      const token = await this.#createOnce(key, lease.id);
      await this.#waitForTurn(key, token, lease, signal);
      return this.#held(key, token, lease);
    } catch (error) {
      await lease.stop().catch(() => undefined);
      throw error;
    }
  }

  /** Creates `key` unless it exists, and returns its create revision. Safe to repeat. */
  async #createOnce(key: string, leaseId: string): Promise<number> {
    for (;;) {
      try {
        // The compare makes a retry harmless: a key already created is left as it is.
        await this.client.txn({
          compare: [{ target: 'CREATE', key: toBase64(key), create_revision: '0' }],
          success: [
            {
              request_put: {
                key: toBase64(key),
                value: toBase64(this.options.value ?? ''),
                lease: leaseId,
              },
            },
          ],
        });
      } catch (error) {
        // The answer was lost or there was no leader: read back below, and retry if absent.
        if (!(error instanceof TypeError) && !isUnavailable(error)) throw error;
      }
      const { kvs } = await this.client.range({ key: toBase64(key) });
      const created = kvs?.[0]?.create_revision;
      if (created !== undefined) return Number(created);
    }
  }

  /** Waits until no key of the lock was created before `token`. */
  async #waitForTurn(
    key: string,
    token: number,
    lease: LeaseKeeper,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    for (;;) {
      const answer = await this.client.range({
        key: toBase64(`${this.name}/`),
        range_end: prefixEnd(`${this.name}/`),
        max_create_revision: String(token - 1),
        sort_order: 'DESCEND',
        sort_target: 'CREATE',
        limit: 1,
      });
      const predecessor: GatewayKeyValue | undefined = answer.kvs?.[0];
      if (predecessor === undefined) {
        // First in line, if still in line: our key may have gone with an expired lease.
        const own = await this.client.range({ key: toBase64(key) });
        if (own.kvs?.[0]?.create_revision !== String(token)) throw new LockLostError(key);
        return;
      }
      if (lease.lost) throw new LockLostError(key);
      signal?.throwIfAborted();
      await this.client.waitForDelete(
        fromBase64(predecessor.key),
        Number(answer.header?.revision ?? 0),
        signal,
      );
    }
  }

  #held(key: string, token: number, lease: LeaseKeeper): HeldLock {
    return {
      key,
      token,
      lease,
      fence: () => ({ target: 'CREATE', key: toBase64(key), create_revision: String(token) }),
      // Revoking the lease deletes the key with it, in one revision.
      release: () => lease.stop(),
    };
  }
}

function isUnavailable(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'status' in error && error.status === 503;
}
