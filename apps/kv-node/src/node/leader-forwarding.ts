/**
 * Forwarding of writes and linearizable reads from a follower to the leader over the peer
 * transport, so that a client may talk to any node.
 *
 * A write travels as its encoded command; the leader proposes it and answers with the outcome.
 * Writes forwarded in the same event-loop turn travel in one message with one timeout, and the
 * leader proposes them together (one log append, one fsync) and answers those applied together in
 * one message: under load, per-request costs (framing, timers, dispatch) are paid per batch.
 * The batch rides in the turn's one socket write to the leader: it is sent just before a
 * replication message to the leader when there is one, and writes forwarded after such a message
 * follow at the end of the current run, so they never cost a write (and a wake-up of the leader)
 * of their own.
 * A read travels as a read-barrier request (Raft's ReadIndex from a follower): the leader
 * confirms its leadership with a quorum and answers with its high-water mark; the follower waits
 * until it has applied that index and then reads locally. A lost message means a timeout: 504
 * (indeterminate) for a write, 503 (definite; nothing changed) for a read.
 * The leader answers with the outcome or a refusal in the peer protocol's terms
 * (`forwarded-outcome.ts`); this member turns a refusal into its own API error at its edge.
 */

import type { Logger } from '../logging/logger.js';
import type { Timers } from '../http/api-context.js';
import { ApiError, GrpcCode, indeterminate, unavailable } from '../http/api-error.js';
import type { ApplyOutcome } from '../store/kv-state-machine.js';
import type { LeaseAnswer, LeaseQuery } from '../lease/lease-driver.js';
import type { ForwardedOutcome } from './forwarded-outcome.js';
import { ForwardRefusal } from './forwarded-outcome.js';
import { apiErrorOf, refusalOf } from './forward-refusal-errors.js';
import type { ForwardedWrite, WriteAnswer } from './forwarding-messages.js';
import {
  ForwardingType,
  decodeLeaseQueryRequest,
  decodeLeaseQueryResponse,
  encodeLeaseQueryRequest,
  encodeLeaseQueryResponse,
  decodeReadRequest,
  decodeReadResponse,
  decodeWriteBatchRequest,
  decodeWriteBatchResponse,
  encodeReadRequest,
  encodeReadResponse,
  encodeWriteBatchRequest,
  encodeWriteBatchResponse,
} from './forwarding-messages.js';
import type { LocalReplica } from './local-replica.js';
import type { NodeTransport } from './transport.js';

interface Pending {
  resolve(payload: Uint8Array): void;
  reject(error: Error): void;
  handle: unknown;
}

/** Writes forwarded to one leader in this turn, sent together with one shared timeout. */
interface WriteBatch {
  leader: string;
  writes: ForwardedWrite[];
  /** Writes of the batch not yet answered (the timer is cleared at zero). */
  outstanding: number;
  handle: unknown;
  started: number | undefined;
}

interface PendingWrite {
  batch: WriteBatch;
  resolve(outcome: ApplyOutcome): void;
  reject(error: Error): void;
}

/** Options of {@link LeaderForwarding}. */
export interface LeaderForwardingOptions {
  /** kv-node's share of the peer transport. */
  transport: NodeTransport;
  replica: LocalReplica;
  timers: Timers;
  logger: Logger;
  /** How long a forwarded request may take, in ms. */
  timeoutMs: number;
  /** Observes the round-trip time of each answered request, in seconds. */
  onRoundTrip?: (peer: string, seconds: number) => void;
  /** Monotonic clock in ms (for round-trip times). */
  now?: () => number;
  /**
   * Answers a follower's lease question (keep-alive, time-to-live) as leader, from the leader's
   * lease clock (see `lease/lease-driver.ts`); without it such questions are refused with 503.
   */
  answerLeaseQuery?: (query: LeaseQuery) => Promise<LeaseAnswer>;
  /**
   * How long a forwarded lease question may take, in ms (default `timeoutMs`). Keep it short (an
   * election timeout): a keep-alive stuck on a dead leader is worth less than the next one.
   */
  leaseQueryTimeoutMs?: number;
}

/** Both ends of forwarding: sends this node's requests to the leader and serves peers' requests. */
export class LeaderForwarding {
  readonly #options: LeaderForwardingOptions;
  readonly #pending = new Map<number, Pending>();
  readonly #pendingWrites = new Map<number, PendingWrite>();
  /** Writes waiting for the end of this turn, by leader. */
  readonly #unsent = new Map<string, WriteBatch>();
  #turnEndScheduled = false;
  /**
   * Peers the replication protocol sent to in this turn: the transport writes to them at the end
   * of the turn anyway, so writes forwarded to them need not wait for the turn to end.
   */
  readonly #writeDue = new Set<string>();
  /** Answers to peers' writes waiting for the end of this microtask run, by peer. */
  readonly #unsentAnswers = new Map<string, WriteAnswer[]>();
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
    options.transport.beforeReplicationSend?.(this.#beforeReplicationSend);
  }

  /** A replication message to `to` is about to be queued: let this turn's writes go first. */
  readonly #beforeReplicationSend = (to: string): void => {
    const batch = this.#unsent.get(to);
    if (batch !== undefined) {
      this.#unsent.delete(to);
      this.#sendBatch(batch);
    }
    if (this.#writeDue.has(to)) return;
    if (this.#writeDue.size === 0) setImmediate(this.#clearWriteDue);
    this.#writeDue.add(to);
  };

  readonly #clearWriteDue = (): void => {
    this.#writeDue.clear();
  };

  /**
   * Forwards an encoded write command to `leader`; resolves with the outcome once applied. Writes
   * forwarded in the same event-loop turn go in one message.
   */
  forwardWrite(leader: string, command: Uint8Array): Promise<ApplyOutcome> {
    let batch = this.#unsent.get(leader);
    if (batch === undefined) {
      batch = { leader, writes: [], outstanding: 0, handle: undefined, started: undefined };
      this.#unsent.set(leader, batch);
      if (this.#writeDue.has(leader)) {
        // The transport writes to the leader at the end of this turn: join that write.
        queueMicrotask(this.#sendWrites);
      } else if (!this.#turnEndScheduled) {
        // After the poll phase, so that requests read from many client sockets in this turn join.
        this.#turnEndScheduled = true;
        setImmediate(this.#sendWritesAtTurnEnd);
      }
    }
    const correlationId = this.#nextCorrelationId++;
    batch.writes.push({ correlationId, command });
    batch.outstanding++;
    const owner = batch;
    return new Promise<ApplyOutcome>((resolve, reject) => {
      this.#pendingWrites.set(correlationId, { batch: owner, resolve, reject });
    });
  }

  /** Asks `leader` for a read barrier; resolves with the index to wait for before reading. */
  async forwardReadBarrier(leader: string): Promise<number> {
    const correlationId = this.#nextCorrelationId++;
    const payload = await this.#requestPayload(
      leader,
      ForwardingType.readRequest,
      correlationId,
      encodeReadRequest(correlationId),
      () => unavailable(`no answer from the leader ${leader} in time`),
    );
    const { outcome } = decodeReadResponse(payload);
    if (outcome instanceof ForwardRefusal) throw apiErrorOf(outcome);
    return outcome;
  }

  /**
   * Asks `leader` a lease question (keep-alive, time-to-live). A keep-alive is not a write: a
   * lost answer is a 503 and the client keeps sending keep-alives.
   */
  async forwardLeaseQuery(leader: string, query: LeaseQuery): Promise<LeaseAnswer> {
    const correlationId = this.#nextCorrelationId++;
    const payload = await this.#requestPayload(
      leader,
      ForwardingType.leaseQueryRequest,
      correlationId,
      encodeLeaseQueryRequest(correlationId, query),
      () => unavailable(`no answer from the leader ${leader} in time`),
      this.#options.leaseQueryTimeoutMs,
    );
    const { outcome } = decodeLeaseQueryResponse(payload);
    if (outcome instanceof ForwardRefusal) throw apiErrorOf(outcome);
    return outcome;
  }

  /** Fails every request in flight (on shutdown) with a 503 or 504 as appropriate. */
  close(): void {
    const shuttingDown = (): ApiError =>
      new ApiError('this node is shutting down; a forwarded request may have been applied', {
        reason: 'indeterminate',
        status: 504,
        grpcCode: GrpcCode.deadlineExceeded,
        definite: false,
      });
    for (const [correlationId, pending] of this.#pending) {
      this.#options.timers.clearTimeout(pending.handle);
      pending.reject(shuttingDown());
      this.#pending.delete(correlationId);
    }
    this.#unsent.clear();
    for (const [correlationId, pending] of this.#pendingWrites) {
      if (pending.batch.handle !== undefined) {
        this.#options.timers.clearTimeout(pending.batch.handle);
        pending.batch.handle = undefined;
      }
      pending.reject(shuttingDown());
      this.#pendingWrites.delete(correlationId);
    }
  }

  readonly #sendWritesAtTurnEnd = (): void => {
    this.#turnEndScheduled = false;
    this.#sendWrites();
  };

  /** Sends the forwarded writes not yet sent, one message per leader. */
  readonly #sendWrites = (): void => {
    const batches = [...this.#unsent.values()];
    this.#unsent.clear();
    for (const batch of batches) this.#sendBatch(batch);
  };

  /** Sends one batch of forwarded writes as one message with one timer. */
  #sendBatch(batch: WriteBatch): void {
    batch.started = this.#options.now?.();
    batch.handle = this.#options.timers.setTimeout(
      () => this.#expire(batch),
      this.#options.timeoutMs,
    );
    this.#options.transport.send(
      batch.leader,
      ForwardingType.writeBatchRequest,
      encodeWriteBatchRequest(batch.writes),
    );
    // The commands are encoded; only the count of unanswered writes matters from now on.
    batch.writes = [];
  }

  /** The batch timed out: its unanswered writes may or may not have been applied. */
  #expire(batch: WriteBatch): void {
    batch.handle = undefined;
    for (const [correlationId, pending] of this.#pendingWrites) {
      if (pending.batch !== batch) continue;
      this.#pendingWrites.delete(correlationId);
      pending.reject(indeterminate(`no answer from the leader ${batch.leader} in time`));
    }
  }

  #answerWrite(answer: WriteAnswer, observeRoundTrip: boolean): void {
    const pending = this.#pendingWrites.get(answer.correlationId);
    if (pending === undefined) return; // answered after its timeout
    this.#pendingWrites.delete(answer.correlationId);
    const batch = pending.batch;
    if (--batch.outstanding === 0 && batch.handle !== undefined) {
      this.#options.timers.clearTimeout(batch.handle);
      batch.handle = undefined;
    }
    if (observeRoundTrip && batch.started !== undefined && this.#options.now !== undefined) {
      this.#options.onRoundTrip?.(batch.leader, (this.#options.now() - batch.started) / 1000);
    }
    if (answer.outcome instanceof ForwardRefusal) pending.reject(apiErrorOf(answer.outcome));
    else pending.resolve(answer.outcome);
  }

  /** Sends an encoded request carrying `correlationId`; resolves with the answer's payload. */
  #requestPayload(
    to: string,
    type: number,
    correlationId: number,
    request: Uint8Array,
    onTimeout: () => ApiError,
    timeoutMs = this.#options.timeoutMs,
  ): Promise<Uint8Array> {
    const started = this.#options.now?.();
    return new Promise<Uint8Array>((resolve, reject) => {
      const handle = this.#options.timers.setTimeout(() => {
        this.#pending.delete(correlationId);
        reject(onTimeout());
      }, timeoutMs);
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
      this.#options.transport.send(to, type, request);
    });
  }

  #receive(from: string, type: number, payload: Uint8Array): void {
    switch (type) {
      case ForwardingType.writeBatchRequest: {
        // Proposed in one synchronous run, so they share one log append and one fsync.
        for (const write of decodeWriteBatchRequest(payload)) {
          void this.#serveWrite(from, write.correlationId, write.command);
        }
        return;
      }
      case ForwardingType.writeBatchResponse: {
        let first = true;
        for (const answer of decodeWriteBatchResponse(payload)) {
          this.#answerWrite(answer, first);
          first = false;
        }
        return;
      }
      case ForwardingType.readRequest:
        void this.#serveRead(from, decodeReadRequest(payload));
        return;
      case ForwardingType.leaseQueryRequest: {
        const { correlationId, query } = decodeLeaseQueryRequest(payload);
        void this.#serveLeaseQuery(from, correlationId, query);
        return;
      }
      case ForwardingType.leaseQueryResponse: {
        const { correlationId } = decodeLeaseQueryResponse(payload);
        const pending = this.#pending.get(correlationId);
        if (pending === undefined) return; // answered after its timeout
        this.#pending.delete(correlationId);
        this.#options.timers.clearTimeout(pending.handle);
        pending.resolve(payload);
        return;
      }
      case ForwardingType.readResponse: {
        const { correlationId } = decodeReadResponse(payload);
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
    let outcome: ForwardedOutcome<ApplyOutcome>;
    const replica = this.#options.replica;
    if (!replica.isLeader()) {
      // Refused before proposing: definitely not applied.
      outcome = new ForwardRefusal(
        'no_leader',
        'etcdserver: not leader (leadership moved while forwarding)',
      );
    } else {
      try {
        // The command arrives in a buffer the transport gave us; the log keeps it, so copy once.
        outcome = await replica.propose(Uint8Array.prototype.slice.call(command));
      } catch (error) {
        outcome = refusalOf(error, 'indeterminate', 'forwarded write failed');
      }
    }
    // Writes applied together resolve in one microtask run: answer them in one message.
    let answers = this.#unsentAnswers.get(from);
    if (answers === undefined) {
      answers = [];
      this.#unsentAnswers.set(from, answers);
      if (this.#unsentAnswers.size === 1) queueMicrotask(this.#sendAnswers);
    }
    answers.push({ correlationId, outcome });
  }

  readonly #sendAnswers = (): void => {
    for (const [peer, answers] of this.#unsentAnswers) {
      this.#options.transport.send(
        peer,
        ForwardingType.writeBatchResponse,
        encodeWriteBatchResponse(answers),
      );
    }
    this.#unsentAnswers.clear();
  };

  async #serveLeaseQuery(from: string, correlationId: number, query: LeaseQuery): Promise<void> {
    let outcome: ForwardedOutcome<LeaseAnswer>;
    const answer = this.#options.answerLeaseQuery;
    if (!this.#options.replica.isLeader()) {
      outcome = new ForwardRefusal('no_leader', 'etcdserver: not leader');
    } else if (answer === undefined) {
      outcome = new ForwardRefusal('unavailable', 'the leader keeps no lease clock');
    } else {
      try {
        outcome = await answer(query);
      } catch (error) {
        outcome = refusalOf(error, 'unavailable', 'lease question failed');
      }
    }
    this.#options.transport.send(
      from,
      ForwardingType.leaseQueryResponse,
      encodeLeaseQueryResponse(correlationId, outcome),
    );
  }

  async #serveRead(from: string, correlationId: number): Promise<void> {
    let outcome: ForwardedOutcome<number>;
    const replica = this.#options.replica;
    if (!replica.isLeader()) {
      outcome = new ForwardRefusal('no_leader', 'etcdserver: not leader');
    } else {
      try {
        outcome = await replica.readBarrier();
      } catch (error) {
        outcome = refusalOf(error, 'unavailable', 'read barrier failed');
      }
    }
    this.#options.transport.send(
      from,
      ForwardingType.readResponse,
      encodeReadResponse(correlationId, outcome),
    );
  }
}
