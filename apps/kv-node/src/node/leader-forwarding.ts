/**
 * Forwarding of writes and linearizable reads from a follower to the leader over the peer
 * transport, so that a client may talk to any node.
 *
 * A write travels as its encoded command; the leader proposes it and answers with the outcome.
 * A read travels as a read-barrier request (Raft's ReadIndex from a follower): the leader
 * confirms its leadership with a quorum and answers with its high-water mark; the follower waits
 * until it has applied that index and then reads locally. A lost message means a timeout: 504
 * (indeterminate) for a write, 503 (definite; nothing changed) for a read.
 */

import type { Logger } from '../logging/logger.js';
import type { Timers } from '../http/api-context.js';
import { ApiError, GrpcCode, indeterminate, unavailable } from '../http/api-error.js';
import type { ApplyOutcome } from '../store/kv-state-machine.js';
import {
  ForwardingType,
  decodeReadResponse,
  decodeRequest,
  decodeWriteResponse,
  encodeReadResponse,
  encodeRequest,
  encodeWriteResponse,
} from './forwarding-messages.js';
import type { LocalReplica } from './local-replica.js';
import type { Transport } from './transport.js';

interface Pending {
  resolve(payload: Uint8Array): void;
  reject(error: Error): void;
  handle: unknown;
}

/** Options of {@link LeaderForwarding}. */
export interface LeaderForwardingOptions {
  /** kv-node's share of the peer transport. */
  transport: Transport;
  replica: LocalReplica;
  timers: Timers;
  logger: Logger;
  /** How long a forwarded request may take, in ms. */
  timeoutMs: number;
  /** Observes the round-trip time of each answered request, in seconds. */
  onRoundTrip?: (peer: string, seconds: number) => void;
  /** Monotonic clock in ms (for round-trip times). */
  now?: () => number;
}

function toApiError(error: unknown, fallback: () => ApiError): ApiError {
  return error instanceof ApiError ? error : fallback();
}

/** Both ends of forwarding: sends this node's requests to the leader and serves peers' requests. */
export class LeaderForwarding {
  readonly #options: LeaderForwardingOptions;
  readonly #pending = new Map<number, Pending>();
  #nextCorrelationId = 1;

  /** @param options see {@link LeaderForwardingOptions}. */
  constructor(options: LeaderForwardingOptions) {
    this.#options = options;
    options.transport.onMessage((from, type, payload) => {
      try {
        this.#receive(from, type, payload);
      } catch (error) {
        options.logger.warn({ from, type, err: error }, 'dropped a malformed forwarding message');
      }
    });
  }

  /** Forwards an encoded write command to `leader`; resolves with the outcome once applied. */
  async forwardWrite(leader: string, command: Uint8Array): Promise<ApplyOutcome> {
    const payload = await this.#request(leader, ForwardingType.writeRequest, command, () =>
      indeterminate(`no answer from the leader ${leader} in time`),
    );
    const { outcome } = decodeWriteResponse(payload);
    if (outcome instanceof ApiError) throw outcome;
    return outcome;
  }

  /** Asks `leader` for a read barrier; resolves with the index to wait for before reading. */
  async forwardReadBarrier(leader: string): Promise<number> {
    const payload = await this.#request(leader, ForwardingType.readRequest, undefined, () =>
      unavailable(`no answer from the leader ${leader} in time`),
    );
    const { outcome } = decodeReadResponse(payload);
    if (outcome instanceof ApiError) throw outcome;
    return outcome;
  }

  /** Fails every request in flight (on shutdown) with a 503 or 504 as appropriate. */
  close(): void {
    for (const [correlationId, pending] of this.#pending) {
      this.#options.timers.clearTimeout(pending.handle);
      pending.reject(
        new ApiError('this node is shutting down; a forwarded request may have been applied', {
          reason: 'indeterminate',
          status: 504,
          grpcCode: GrpcCode.deadlineExceeded,
          definite: false,
        }),
      );
      this.#pending.delete(correlationId);
    }
  }

  #request(
    to: string,
    type: number,
    command: Uint8Array | undefined,
    onTimeout: () => ApiError,
  ): Promise<Uint8Array> {
    const correlationId = this.#nextCorrelationId++;
    const started = this.#options.now?.();
    return new Promise<Uint8Array>((resolve, reject) => {
      const handle = this.#options.timers.setTimeout(() => {
        this.#pending.delete(correlationId);
        reject(onTimeout());
      }, this.#options.timeoutMs);
      this.#pending.set(correlationId, {
        resolve: (payload) => {
          if (started !== undefined && this.#options.now !== undefined) {
            this.#options.onRoundTrip?.(to, (this.#options.now() - started) / 1000);
          }
          resolve(payload);
        },
        reject,
        handle,
      });
      this.#options.transport.send(to, type, encodeRequest(correlationId, command));
    });
  }

  #receive(from: string, type: number, payload: Uint8Array): void {
    switch (type) {
      case ForwardingType.writeRequest: {
        const { correlationId, command } = decodeRequest(payload, true);
        void this.#serveWrite(from, correlationId, command as Uint8Array);
        return;
      }
      case ForwardingType.readRequest: {
        const { correlationId } = decodeRequest(payload, false);
        void this.#serveRead(from, correlationId);
        return;
      }
      case ForwardingType.writeResponse:
      case ForwardingType.readResponse: {
        const correlationId =
          type === ForwardingType.writeResponse
            ? decodeWriteResponse(payload).correlationId
            : decodeReadResponse(payload).correlationId;
        const pending = this.#pending.get(correlationId);
        if (pending === undefined) return; // answered after its timeout
        this.#pending.delete(correlationId);
        this.#options.timers.clearTimeout(pending.handle);
        pending.resolve(payload);
        return;
      }
      default:
        this.#options.logger.debug({ from, type }, 'ignored an unknown kv-node message type');
    }
  }

  async #serveWrite(from: string, correlationId: number, command: Uint8Array): Promise<void> {
    let outcome: ApplyOutcome | ApiError;
    const replica = this.#options.replica;
    if (!replica.isLeader()) {
      // Refused before proposing: definitely not applied.
      outcome = unavailable(
        'etcdserver: not leader (leadership moved while forwarding)',
        'no_leader',
      );
    } else {
      try {
        // The command arrives in a buffer the transport gave us; the log keeps it, so copy once.
        outcome = await replica.propose(Uint8Array.prototype.slice.call(command));
      } catch (error) {
        outcome = toApiError(error, () =>
          indeterminate(`forwarded write failed: ${String(error)}`),
        );
      }
    }
    this.#options.transport.send(
      from,
      ForwardingType.writeResponse,
      encodeWriteResponse(correlationId, outcome),
    );
  }

  async #serveRead(from: string, correlationId: number): Promise<void> {
    let outcome: number | ApiError;
    const replica = this.#options.replica;
    if (!replica.isLeader()) {
      outcome = unavailable('etcdserver: not leader', 'no_leader');
    } else {
      try {
        outcome = await replica.readBarrier();
      } catch (error) {
        outcome = toApiError(error, () => unavailable(`read barrier failed: ${String(error)}`));
      }
    }
    this.#options.transport.send(
      from,
      ForwardingType.readResponse,
      encodeReadResponse(correlationId, outcome),
    );
  }
}
