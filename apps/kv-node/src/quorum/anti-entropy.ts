/**
 * Anti-entropy: a background repair so a member that missed writes converges without being read.
 * Every round this member picks the next reachable peer, compares the digests of the 256 key
 * buckets (hash ranges: a key's bucket is the first byte of its SHA-1), and for each bucket that
 * differs exchanges the entries: it stores what the peer holds newer (durably, through the same
 * replica write as a client write) and sends the peer what it holds newer. Tombstones travel like
 * values, so a delete converges too.
 *
 * The rounds also collect tombstones: a round records which of this member's tombstones the peer
 * holds (an equal bucket holds all of them; a differing one shows each entry's version; a pushed
 * tombstone is stored there, or refused because the peer collected it already), and a tombstone
 * every peer holds, older than the grace time, is collected (see
 * `QuorumReplicaStore.collectTombstones` for why that cannot bring the key back).
 */

import type { Logger } from '../logging/logger.js';
import type { QuorumReplicaStore } from './quorum-replica-store.js';
import type { QuorumReplicaClient } from './replica-client.js';
import { compareValueVersions } from './value-version.js';
import type { StoredValue } from './value-version.js';

/** What one round did. */
export interface AntiEntropyRound {
  readonly peer: string;
  /** Buckets whose digests differed. */
  readonly differingBuckets: number;
  /** Entries this member stored from the peer. */
  readonly pulled: number;
  /** Entries this member sent to the peer. */
  readonly pushed: number;
  /** Tombstones this member collected after the round. */
  readonly collected: number;
}

/** Options of {@link AntiEntropy}. */
export interface AntiEntropyOptions {
  readonly self: string;
  readonly peers: readonly string[];
  readonly store: QuorumReplicaStore;
  readonly replicas: QuorumReplicaClient;
  /** Milliseconds between rounds. */
  readonly intervalMs: number;
  /**
   * A tombstone is collected only once it is older than this, in milliseconds: more than the
   * clock offset plus a request's time, so every write still in flight is younger than the
   * collection horizon and none is refused by it.
   */
  readonly tombstoneGraceMs: number;
  /** Now, in wall-clock milliseconds (the hybrid clock's physical time). */
  readonly nowWallMs: () => number;
  readonly logger: Logger;
  readonly onRound?: (round: AntiEntropyRound) => void;
}

/** The background repair. */
export class AntiEntropy {
  readonly #options: AntiEntropyOptions;
  #next = 0;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #stopped = false;

  /** @param options peers, store, replicas and the interval. */
  constructor(options: AntiEntropyOptions) {
    this.#options = options;
  }

  /** Starts the rounds. */
  start(): void {
    this.#schedule();
  }

  /** Stops after the current round. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
  }

  /**
   * Runs one round with the next reachable peer now; resolves with what it did, or `undefined`
   * when no peer is reachable.
   *
   * @throws (rejects) when the peer fails mid-round; the next round starts afresh.
   */
  async runRound(): Promise<AntiEntropyRound | undefined> {
    const { peers, replicas } = this.#options;
    for (let tried = 0; tried < peers.length; tried++) {
      const peer = peers[this.#next++ % peers.length] as string;
      if (replicas.isAvailable(peer)) return this.#exchangeWith(peer);
    }
    return undefined;
  }

  async #exchangeWith(peer: string): Promise<AntiEntropyRound> {
    const { store, replicas } = this.#options;
    const theirs = await replicas.digests(peer);
    const mine = store.bucketDigests();
    let differingBuckets = 0;
    let pulled = 0;
    let pushed = 0;
    const remoteBuckets = new Map<number, Map<string, StoredValue>>();
    for (let bucket = 0; bucket < mine.length; bucket++) {
      if (mine[bucket] === theirs[bucket]) {
        // The same entries there: the peer holds each of these tombstones.
        for (const { key, stored } of store.bucketEntries(bucket)) {
          if (stored.value === null) store.confirmTombstone(peer, key, stored.version);
        }
        continue;
      }
      differingBuckets++;
      const remote = new Map(
        (await replicas.bucket(peer, bucket)).map((entry) => [entry.key, entry.stored]),
      );
      remoteBuckets.set(bucket, remote);
      for (const { key } of store.bucketEntries(bucket)) {
        // Read again before each push: the entry may have changed during the previous one.
        const stored = store.get(key);
        if (stored === undefined) continue;
        const theirVersion = remote.get(key)?.version;
        if (compareValueVersions(stored.version, theirVersion) > 0) {
          // Stored there, already newer there, or a tombstone the peer collected itself.
          const outcome = await replicas.push(peer, key, stored);
          pushed++;
          if (stored.value === null && outcome !== 'refused') {
            store.confirmTombstone(peer, key, stored.version);
          }
        } else if (stored.value === null && theirVersion !== undefined) {
          store.confirmTombstone(peer, key, theirVersion);
        }
      }
      for (const [key, stored] of remote) {
        if (await store.write(key, stored, 'pulled')) pulled++;
      }
    }
    // Tombstones collected here that the peer no longer holds (an equal bucket holds what this
    // member holds): once no peer holds one, this member can forget it.
    store.observeCollected(peer, this.#options.peers, (key, bucket) => {
      const remote = remoteBuckets.get(bucket);
      return remote === undefined ? store.get(key)?.version : remote.get(key)?.version;
    });
    const collected = store.collectTombstones(
      this.#options.peers,
      this.#options.nowWallMs(),
      this.#options.tombstoneGraceMs,
    );
    return { peer, differingBuckets, pulled, pushed, collected };
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      if (this.#running) return;
      this.#running = true;
      this.runRound()
        .then((round) => {
          if (round !== undefined) {
            this.#options.onRound?.(round);
            if (round.pulled + round.pushed + round.collected > 0) {
              this.#options.logger.info({ ...round }, 'anti-entropy repaired entries');
            }
          }
        })
        .catch((error: unknown) => {
          this.#options.logger.debug({ err: error }, 'anti-entropy round failed');
        })
        .finally(() => {
          this.#running = false;
          this.#schedule();
        });
    }, this.#options.intervalMs);
  }
}
