/**
 * A lease kept alive in the background: granted once, renewed every third of its TTL, as etcd's
 * clients do. Renewal stops on {@link LeaseKeeper.stop} (then the lease is revoked) or when the
 * cluster says the lease is gone (it expired: every key attached to it was deleted), which
 * {@link LeaseKeeper.lost} reports: a holder whose lease is lost no longer holds anything.
 */

import type { EtcdJsonClient } from './etcd-json-client.js';

/** A granted lease and its renewal. */
export class LeaseKeeper {
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;
  #lost = false;

  private constructor(
    private readonly client: EtcdJsonClient,
    /** The lease's id (a decimal string, as the gateway writes 64-bit integers). */
    readonly id: string,
    /** The TTL the cluster granted, in seconds. */
    readonly ttlSeconds: number,
  ) {}

  /** Grants a lease of `ttlSeconds` and starts renewing it. */
  static async grant(client: EtcdJsonClient, ttlSeconds: number): Promise<LeaseKeeper> {
    const { id, ttlSeconds: granted } = await client.grantLease(ttlSeconds);
    const keeper = new LeaseKeeper(client, id, granted);
    keeper.#schedule();
    return keeper;
  }

  /** Whether the cluster reported the lease gone (expired or revoked by someone else). */
  get lost(): boolean {
    return this.#lost;
  }

  /**
   * Stops renewing without revoking: the lease runs out after its TTL. What a holder that is
   * paused or cut off looks like to the cluster (tests use it to play such a holder).
   */
  abandon(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  /** Stops renewing and revokes the lease, deleting the keys attached to it. */
  async stop(): Promise<void> {
    this.abandon();
    await this.client.revokeLease(this.id);
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.#renew(), (this.ttlSeconds * 1000) / 3);
  }

  async #renew(): Promise<void> {
    if (this.#stopped) return;
    try {
      if ((await this.client.keepAlive(this.id)) === undefined) {
        this.#lost = true;
        this.#stopped = true;
        return;
      }
    } catch {
      // No leader or member unreachable for now: try again at the next third of the TTL. The
      // lease may run out meanwhile; the next answer then says so.
    }
    this.#schedule();
  }
}
