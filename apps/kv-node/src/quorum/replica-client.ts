/**
 * How a coordinating member reaches the replicas (`@x/quorum`'s `ReplicaClient` port): its own
 * store directly, peers over the transport. A suspected peer (phi-accrual) fails at once, so the
 * quorum call neither waits on it nor, when too few others are left, waits for its timeout: the
 * call's early failure applies. Nothing is sent to a suspected peer: requests to a peer that is
 * down would only queue in the transport until they time out; a peer suspected wrongly misses the
 * write and is repaired by a later read (read repair). Versions read from a peer are witnessed by the hybrid clock, which refuses one
 * too far ahead: that answer then counts as failed.
 */

import { ClockOffsetError } from '@x/clocks';
import type { HybridClock } from '@x/clocks';
import type { ReplicaClient } from '@x/quorum';
import type { ByteString } from '../store/byte-string.js';
import {
  QuorumMessageType,
  decodeJson,
  decodeRangeAnswer,
  encodeJson,
  fromWire,
  toWire,
} from './quorum-messages.js';
import type { PeerTransport } from './peer-transport.js';
import type { QuorumReplicaStore, StoredEntry } from './quorum-replica-store.js';
import type { StoredValue, ValueVersion } from './value-version.js';

/** A peer the failure detector suspects: not waited on. */
export class SuspectedMemberError extends Error {
  /** @param member the suspected member. */
  constructor(readonly member: string) {
    super(`${member} is suspected down (phi-accrual) or has not agreed on the settings yet`);
    this.name = 'SuspectedMemberError';
  }
}

/** What the client needs. */
export interface QuorumReplicaClientOptions {
  readonly self: string;
  readonly store: QuorumReplicaStore;
  readonly transport: PeerTransport;
  readonly clock: HybridClock;
  readonly isSuspected: (member: string) => boolean;
  /** Whether a peer agreed on the settings (hello); others are not asked. */
  readonly hasAgreed: (member: string) => boolean;
  readonly timeoutMs: number;
  readonly onClockOffset: (peer: string, error: ClockOffsetError) => void;
}

/** Reaches every replica of the cluster. */
export class QuorumReplicaClient implements ReplicaClient<
  ByteString,
  ByteString | null,
  ValueVersion
> {
  readonly #options: QuorumReplicaClientOptions;

  /** @param options self, store, transport, clock, suspicion. */
  constructor(options: QuorumReplicaClientOptions) {
    this.#options = options;
  }

  /** The stored value of `key` on `node` (a tombstone included). */
  async read(node: string, key: ByteString): Promise<StoredValue | undefined> {
    if (node === this.#options.self) return this.#options.store.get(key);
    const body = await this.#ask(node, QuorumMessageType.read, { key });
    if (body['stored'] === null) return undefined;
    return this.#witnessed(node, fromWire(body['stored']));
  }

  /** Stores `value` on `node` unless it holds a newer one; resolves once durable there. */
  async write(node: string, key: ByteString, value: StoredValue): Promise<void> {
    if (node === this.#options.self) {
      await this.#options.store.write(key, value);
      return;
    }
    await this.#ask(node, QuorumMessageType.write, { key, stored: toWire(value) });
  }

  /**
   * Anti-entropy's push of `value` to `peer`: resolves once the peer holds it or something newer
   * (`held`), collected the key's tombstone itself (`collected`), or refused an old value of a
   * key it does not hold (`refused`: it pulls that in its own rounds).
   */
  async push(
    peer: string,
    key: ByteString,
    value: StoredValue,
  ): Promise<'held' | 'collected' | 'refused'> {
    const body = await this.#ask(peer, QuorumMessageType.write, {
      key,
      stored: toWire(value),
      antiEntropy: true,
    });
    return body['collected'] === true ? 'collected' : body['refused'] === true ? 'refused' : 'held';
  }

  /** Stored values of `[start, end)` on `node`, at most `limit` (0: all). */
  async range(
    node: string,
    start: ByteString,
    end: ByteString | undefined,
    limit: number,
  ): Promise<StoredEntry[]> {
    if (node === this.#options.self) return this.#options.store.range(start, end, limit);
    const body = await this.#ask(node, QuorumMessageType.range, { start, end: end ?? null, limit });
    const entries = decodeRangeAnswer(body);
    for (const entry of entries) this.#witnessed(node, entry.stored);
    return entries;
  }

  /** The digest of each key bucket on `peer` (anti-entropy). */
  async digests(peer: string): Promise<string[]> {
    const body = await this.#ask(peer, QuorumMessageType.digests, {});
    const digests = body['digests'];
    if (!Array.isArray(digests) || !digests.every((digest) => typeof digest === 'string')) {
      throw new TypeError('digests must be an array of strings');
    }
    return digests;
  }

  /** The stored entries of one key bucket on `peer`, their versions witnessed (anti-entropy). */
  async bucket(peer: string, bucket: number): Promise<StoredEntry[]> {
    const entries = decodeRangeAnswer(await this.#ask(peer, QuorumMessageType.bucket, { bucket }));
    const accepted: StoredEntry[] = [];
    for (const entry of entries) {
      try {
        accepted.push({ key: entry.key, stored: this.#witnessed(peer, entry.stored) });
      } catch (error) {
        // A timestamp too far ahead is refused (logged and counted); the rest still converges.
        if (!(error instanceof ClockOffsetError)) throw error;
      }
    }
    return accepted;
  }

  /** Whether `node` can be counted on now (this member, or a peer agreed and not suspected). */
  isAvailable(node: string): boolean {
    const { self, isSuspected, hasAgreed } = this.#options;
    return node === self || (hasAgreed(node) && !isSuspected(node));
  }

  async #ask(node: string, type: number, body: unknown): Promise<Record<string, unknown>> {
    const { transport, timeoutMs } = this.#options;
    if (!this.isAvailable(node)) throw new SuspectedMemberError(node);
    const reply = await transport.request(node, type, encodeJson(body), { timeoutMs });
    return decodeJson(reply.payload);
  }

  #witnessed(node: string, stored: StoredValue): StoredValue {
    try {
      this.#options.clock.witness(stored.version.timestamp);
    } catch (error) {
      if (error instanceof ClockOffsetError) this.#options.onClockOffset(node, error);
      throw error;
    }
    return stored;
  }
}
