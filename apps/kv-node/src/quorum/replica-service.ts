/**
 * Answers peers' requests against this member's replica: hello (settings agreement), read, write
 * and range. A write's timestamp is witnessed by this member's hybrid clock first: one from a
 * member whose clock is further ahead than `--max-clock-offset` is refused (ClockOffsetError),
 * logged and counted, and not stored.
 */

import { ClockOffsetError } from '@x/clocks';
import type { HybridClock } from '@x/clocks';
import type { Logger } from '../logging/logger.js';
import {
  QuorumMessageType,
  decodeJson,
  decodeSettings,
  encodeJson,
  fromWire,
  keyField,
  settingsMismatch,
  toWire,
} from './quorum-messages.js';
import type { ReplicationSettings } from './quorum-messages.js';
import type { PeerReply } from './peer-transport.js';
import { BelowCollectionHorizonError } from './quorum-replica-store.js';
import type { QuorumReplicaStore } from './quorum-replica-store.js';

/** What the service needs. */
export interface ReplicaServiceOptions {
  readonly store: QuorumReplicaStore;
  readonly clock: HybridClock;
  readonly settings: ReplicationSettings;
  readonly logger: Logger;
  /** A peer's settings differ from ours (or it is not in quorum mode): the member must stop. */
  readonly onDisagreement: (peer: string, reason: string) => void;
  /** A peer sent a timestamp too far ahead of our wall clock. */
  readonly onClockOffset: (peer: string, error: ClockOffsetError) => void;
}

/** Handles inbound quorum-mode requests. */
export class ReplicaService {
  readonly #options: ReplicaServiceOptions;
  /** Peers whose hello matched: only they may read and write here. */
  readonly #agreedPeers = new Set<string>();

  /** @param options the replica, clock, settings and callbacks. */
  constructor(options: ReplicaServiceOptions) {
    this.#options = options;
  }

  /** Whether `peer`'s hello matched this member's settings. */
  hasAgreed(peer: string): boolean {
    return this.#agreedPeers.has(peer);
  }

  /** Records that `peer` answered our hello with matching settings. */
  agreedWith(peer: string): void {
    this.#agreedPeers.add(peer);
  }

  /**
   * Answers one request.
   *
   * @throws Error (sent back to the peer as a remote handler error) for unknown types, a peer
   *   that has not said hello, malformed input or a refused timestamp.
   */
  async handle(from: string, type: number, payload: Uint8Array): Promise<PeerReply> {
    const body = decodeJson(payload);
    if (type === QuorumMessageType.hello) {
      const theirs = decodeSettings(body);
      const mismatch = settingsMismatch(this.#options.settings, theirs);
      if (mismatch === undefined) this.#agreedPeers.add(from);
      else this.#options.onDisagreement(from, mismatch);
      return answer(this.#options.settings);
    }
    if (!this.#agreedPeers.has(from)) {
      throw new Error(`quorum mode: ${from} has not said hello yet`);
    }
    const { store } = this.#options;
    switch (type) {
      case QuorumMessageType.read: {
        const stored = store.get(keyField(body, 'key'));
        return answer({ stored: stored === undefined ? null : toWire(stored) });
      }
      case QuorumMessageType.write: {
        const key = keyField(body, 'key');
        const stored = fromWire(body['stored']);
        try {
          this.#options.clock.witness(stored.version.timestamp);
        } catch (error) {
          if (error instanceof ClockOffsetError) this.#options.onClockOffset(from, error);
          throw error;
        }
        if (body['antiEntropy'] === true && store.wasCollected(key, stored.version)) {
          // A tombstone this member collected: the pusher may count it as held here.
          return answer({ stored: false, collected: true });
        }
        try {
          return answer({ stored: await store.write(key, stored) });
        } catch (error) {
          if (!(error instanceof BelowCollectionHorizonError)) throw error;
          // An anti-entropy push is answered, not failed, so the pusher's round goes on: an old
          // value of a key this member does not hold is left to its own rounds, which pull it
          // (a pull is not refused). Anything else is refused: it could undo a delete.
          if (body['antiEntropy'] === true) return answer({ stored: false, refused: true });
          this.#options.logger.warn(
            { peer: from, err: error },
            'refused a write below the tombstone collection horizon',
          );
          throw error;
        }
      }
      case QuorumMessageType.range: {
        const end = body['end'];
        const limit = body['limit'];
        if ((end !== null && typeof end !== 'string') || typeof limit !== 'number') {
          throw new TypeError('range needs end (string or null) and limit');
        }
        const entries = store.range(keyField(body, 'start'), end ?? undefined, limit);
        return answer({
          entries: entries.map(({ key, stored }) => ({ key, stored: toWire(stored) })),
        });
      }
      case QuorumMessageType.digests:
        return answer({ digests: store.bucketDigests() });
      case QuorumMessageType.bucket: {
        const bucket = body['bucket'];
        if (typeof bucket !== 'number' || !Number.isInteger(bucket)) {
          throw new TypeError('bucket must be an integer');
        }
        const entries = store.bucketEntries(bucket);
        return answer({
          entries: entries.map(({ key, stored }) => ({ key, stored: toWire(stored) })),
        });
      }
      default:
        throw new Error(`quorum mode: unknown request type ${type}`);
    }
  }
}

function answer(body: unknown): PeerReply {
  return { type: QuorumMessageType.answer, payload: encodeJson(body) };
}
