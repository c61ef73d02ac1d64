import {
  ConnectionLostError,
  QueueFullError,
  RemoteHandlerError,
  TransportClosedError,
  TransportTimeoutError,
} from './errors.js';
import { Fifo } from './fifo.js';
import type { FrameBatch } from './frame-batch.js';
import { ControlType, FrameFlags } from './frame.js';
import type { ReceiveProgress } from './handshake.js';
import type { Timers } from './ports.js';
import type { Reply, UndeliveredMessage, UndeliveredReason } from './types.js';

/** The part of a live connection a channel drives. */
export interface ChannelLink {
  /** Asks the connection to write queued frames soon (coalescing all requests in one tick). */
  requestFlush(): void;
}

/** Everything a channel needs from its transport. */
export interface ChannelContext {
  readonly timers: Timers;
  readonly maxQueuedMessages: number;
  readonly maxQueuedBytes: number;
  readonly maxInFlightRequests: number;
  /**
   * How long an acknowledgement may wait for outbound data to ride on, in milliseconds. 0 sends
   * it with the next flush, as its own write if nothing else is queued.
   */
  readonly acknowledgementDelayMs: number;
  deliverMessage(from: string, type: number, payload: Uint8Array): void;
  handleRequest(from: string, type: number, payload: Uint8Array): Reply | Promise<Reply>;
  reportUndelivered(peer: string, messages: UndeliveredMessage[]): void;
  countTimeout(): void;
  countLateResponse(): void;
}

const enum EntryKind {
  oneWay,
  request,
  response,
}

interface Entry {
  kind: EntryKind;
  flags: number;
  type: number;
  /** Sequence number (one-way, low 32 bits) or correlation id (request, response). */
  correlation: number;
  payload: Uint8Array;
  /** For requests: the caller waiting for the response. */
  pending: PendingRequest | undefined;
}

interface PendingRequest {
  resolve: (reply: Reply) => void;
  reject: (error: Error) => void;
  timer: unknown;
  entry: Entry;
  written: boolean;
  settled: boolean;
}

const EMPTY = new Uint8Array(0);
const UINT32 = 0x1_0000_0000;

/**
 * An acknowledgement is written at once, without waiting for data to ride on, after this many
 * one-way messages or payload bytes, so a fast sender's retained payloads stay small.
 */
const ACKNOWLEDGE_AT_ONCE_MESSAGES = 256;
const ACKNOWLEDGE_AT_ONCE_BYTES = 256 * 1024;

/**
 * All state kept for one peer: the ordered outbound queue (bounded, kept across reconnects),
 * one-way messages written but not yet acknowledged, requests awaiting responses (bounded
 * in-flight window), and how far the peer's one-way stream has been received.
 *
 * It does no I/O: a connection pulls frames with {@link PeerChannel.drainInto} and pushes inbound
 * frames with {@link PeerChannel.receive}.
 */
export class PeerChannel {
  private readonly queue = new Fifo<Entry>();
  /** One-way messages written to a connection, oldest first, sequence numbers contiguous. */
  private readonly unacknowledged = new Fifo<Entry>();
  private readonly pending = new Map<number, PendingRequest>();
  private queuedMessages = 0;
  private queuedBytes = 0;
  private inFlight = 0;
  private nextSequence = 0;
  private nextCorrelation = 0;
  private link: ChannelLink | undefined;
  /** Bumped on every attach, so a response computed for an old connection is not sent on a new one. */
  private epoch = 0;
  private closed = false;

  /** The peer incarnation our unacknowledged messages were last written to. */
  private sentToIncarnation: string | undefined;
  /** The peer incarnation whose one-way stream {@link lastReceived} refers to. */
  private receiveIncarnation: string | undefined;
  private hasReceived = false;
  private lastReceived = 0;
  private acknowledgementDue = false;
  /** One-way messages and payload bytes received since the last acknowledgement was written. */
  private unacknowledgedReceivedMessages = 0;
  private unacknowledgedReceivedBytes = 0;
  /** Fires `acknowledgementDelayMs` after a message arrives while no timer is pending. */
  private acknowledgementTimer: unknown;
  /** An acknowledgement rode on outbound data since {@link acknowledgementTimer} was armed. */
  private acknowledgementRode = false;

  constructor(
    /** The peer's node id. */
    readonly peer: string,
    private readonly context: ChannelContext,
  ) {}

  /** True while an authenticated connection carries this channel. */
  get connected(): boolean {
    return this.link !== undefined;
  }

  /** Queue depth and window use, for metrics. */
  stats(): {
    queuedMessages: number;
    queuedBytes: number;
    inFlightRequests: number;
    unacknowledged: number;
  } {
    return {
      queuedMessages: this.queuedMessages,
      queuedBytes: this.queuedBytes,
      inFlightRequests: this.inFlight,
      unacknowledged: this.unacknowledged.length,
    };
  }

  /** Queues a one-way message; reports it as undelivered when the queue is full. */
  send(type: number, payload: Uint8Array): void {
    const limit = this.overLimit(payload.byteLength);
    if (limit !== undefined || this.closed) {
      const reason: UndeliveredReason = this.closed ? 'closed' : 'queue-full';
      this.context.reportUndelivered(this.peer, [{ type, payload, reason, maybeDelivered: false }]);
      return;
    }
    const sequence = this.nextSequence;
    this.nextSequence = (sequence + 1) % UINT32;
    this.enqueue({
      kind: EntryKind.oneWay,
      flags: 0,
      type,
      correlation: sequence,
      payload,
      pending: undefined,
    });
  }

  /**
   * Queues a request and resolves with the peer's response.
   *
   * @throws (rejects) {@link QueueFullError}, {@link TransportTimeoutError}, {@link ConnectionLostError},
   *   {@link RemoteHandlerError}, {@link TransportClosedError}
   */
  request(type: number, payload: Uint8Array, timeoutMs: number): Promise<Reply> {
    if (this.closed) return Promise.reject(new TransportClosedError());
    const limit = this.overLimit(payload.byteLength);
    if (limit !== undefined) return Promise.reject(new QueueFullError(this.peer, limit));
    this.nextCorrelation = (this.nextCorrelation % (UINT32 - 1)) + 1;
    const correlation = this.nextCorrelation;
    return new Promise<Reply>((resolve, reject) => {
      const entry: Entry = {
        kind: EntryKind.request,
        flags: FrameFlags.request,
        type,
        correlation,
        payload,
        pending: undefined,
      };
      const pending: PendingRequest = {
        resolve,
        reject,
        timer: undefined,
        entry,
        written: false,
        settled: false,
      };
      entry.pending = pending;
      pending.timer = this.context.timers.setTimeout(
        () => this.timeOut(correlation, timeoutMs),
        timeoutMs,
      );
      this.pending.set(correlation, pending);
      this.enqueue(entry);
    });
  }

  /**
   * Moves queued frames into `batch` until it holds `limitBytes` or the queue is empty. A request
   * at the head waits while the in-flight window is full, and everything behind it waits too, so
   * the order of the single channel is kept.
   */
  drainInto(batch: FrameBatch, limitBytes: number): void {
    if (this.acknowledgementDue) {
      this.acknowledgementDue = false;
      this.acknowledgementRode = true;
      this.unacknowledgedReceivedMessages = 0;
      this.unacknowledgedReceivedBytes = 0;
      batch.add(FrameFlags.control, ControlType.acknowledge, this.lastReceived, EMPTY);
    }
    while (batch.bytes < limitBytes) {
      const entry = this.queue.at(0);
      if (entry === undefined) return;
      if (entry.kind === EntryKind.request) {
        const pending = entry.pending!;
        if (pending.settled) {
          this.queue.shift();
          continue;
        }
        if (this.inFlight >= this.context.maxInFlightRequests) return;
        this.inFlight += 1;
        pending.written = true;
      }
      this.queue.shift();
      batch.add(entry.flags, entry.type, entry.correlation, entry.payload);
      if (entry.kind === EntryKind.oneWay) {
        this.unacknowledged.push(entry);
      } else {
        this.release(entry);
      }
    }
  }

  /** True when frames are waiting that the window allows to be written now. */
  get hasWritableFrames(): boolean {
    if (this.acknowledgementDue) return true;
    const head = this.queue.at(0);
    if (head === undefined) return false;
    return (
      head.kind !== EntryKind.request ||
      this.inFlight < this.context.maxInFlightRequests ||
      head.pending!.settled
    );
  }

  /** Handles one inbound data frame (control frames other than acknowledgements never get here). */
  receive(flags: number, type: number, correlation: number, payload: Uint8Array): void {
    if (flags === 0) {
      this.lastReceived = correlation;
      this.hasReceived = true;
      this.noteReceived(payload.byteLength);
      this.context.deliverMessage(this.peer, type, payload);
    } else if (flags === FrameFlags.request) {
      this.answer(type, correlation, payload);
    } else {
      this.settleResponse(flags, type, correlation, payload);
    }
  }

  /**
   * Makes an acknowledgement due. It is written with the next outbound data, which usually
   * follows within a turn or two (replies, appends), rather than as a write of its own: on
   * loopback and virtual machines every socket write that wakes the peer costs far more than the
   * bytes. A timer (or a burst of messages) sends it alone only once the link has been quiet: if
   * an acknowledgement rode on data since the timer was armed, the link is busy and the timer is
   * armed again, so a message waits at most twice the delay for its acknowledgement, and a
   * connection with traffic both ways writes no acknowledgement of its own.
   */
  private noteReceived(bytes: number): void {
    this.acknowledgementDue = true;
    this.unacknowledgedReceivedMessages += 1;
    this.unacknowledgedReceivedBytes += bytes;
    const link = this.link;
    if (link === undefined) return;
    const delayMs = this.context.acknowledgementDelayMs;
    if (
      delayMs <= 0 ||
      this.unacknowledgedReceivedMessages >= ACKNOWLEDGE_AT_ONCE_MESSAGES ||
      this.unacknowledgedReceivedBytes >= ACKNOWLEDGE_AT_ONCE_BYTES
    ) {
      link.requestFlush();
    } else if (this.acknowledgementTimer === undefined) {
      // Not cleared when the acknowledgement rides on data: firing late with nothing due is
      // cheaper than a clear and a new timer for every flush.
      this.armAcknowledgementTimer(delayMs);
    }
  }

  private armAcknowledgementTimer(delayMs: number): void {
    this.acknowledgementRode = false;
    this.acknowledgementTimer = this.context.timers.setTimeout(
      this.onAcknowledgementTimer,
      delayMs,
    );
  }

  private readonly onAcknowledgementTimer = (): void => {
    this.acknowledgementTimer = undefined;
    if (!this.acknowledgementDue || this.link === undefined) return;
    // Data went out meanwhile: more will likely follow for this acknowledgement to ride on.
    if (this.acknowledgementRode) this.armAcknowledgementTimer(this.context.acknowledgementDelayMs);
    else this.link.requestFlush();
  };

  private cancelAcknowledgementTimer(): void {
    if (this.acknowledgementTimer === undefined) return;
    this.context.timers.clearTimeout(this.acknowledgementTimer);
    this.acknowledgementTimer = undefined;
  }

  /** The peer acknowledged every one-way message up to `sequence` (low 32 bits). */
  acknowledge(sequence: number): void {
    const delivered = this.countThrough(sequence);
    for (let index = 0; index < delivered; index += 1) this.release(this.unacknowledged.shift()!);
  }

  /**
   * What {@link PeerChannel.receiveProgress} would report for `peerIncarnation`, without changing
   * anything: for a handshake message sent before the peer is authenticated.
   */
  peekReceiveProgress(peerIncarnation: string): ReceiveProgress {
    if (this.receiveIncarnation !== peerIncarnation) return { knowsYou: false, lastSequence: 0 };
    return { knowsYou: this.hasReceived, lastSequence: this.lastReceived };
  }

  /**
   * How far this side has received the peer's one-way stream, for the handshake. Call only once
   * the peer is authenticated: a new incarnation resets the record.
   */
  receiveProgress(peerIncarnation: string): ReceiveProgress {
    if (this.receiveIncarnation !== peerIncarnation) {
      this.receiveIncarnation = peerIncarnation;
      this.hasReceived = false;
      this.lastReceived = 0;
    }
    return { knowsYou: this.hasReceived, lastSequence: this.lastReceived };
  }

  /**
   * Starts using a freshly authenticated connection. `remote` says how much of our one-way stream
   * the peer received: the rest of what was written on earlier connections is reported lost.
   */
  attach(link: ChannelLink, peerIncarnation: string, remote: ReceiveProgress): void {
    const restarted =
      this.sentToIncarnation !== undefined && this.sentToIncarnation !== peerIncarnation;
    this.sentToIncarnation = peerIncarnation;
    this.receiveProgress(peerIncarnation); // normally done by the handshake already; idempotent
    if (!restarted && remote.knowsYou) this.acknowledge(remote.lastSequence);
    this.reportUnacknowledged(restarted ? 'peer-restarted' : 'connection-lost', restarted);
    this.link = link;
    this.epoch += 1;
    if (this.queue.length > 0) link.requestFlush();
  }

  /**
   * The connection is gone. Written requests are rejected (they may or may not have been
   * handled); unwritten ones stay queued for the next connection; queued responses are dropped,
   * since they answer requests the peer has already given up on.
   */
  detach(reason: string): void {
    if (this.link === undefined) return;
    this.link = undefined;
    this.acknowledgementDue = false;
    this.unacknowledgedReceivedMessages = 0;
    this.unacknowledgedReceivedBytes = 0;
    this.cancelAcknowledgementTimer();
    this.inFlight = 0;
    for (const [correlation, pending] of this.pending) {
      if (!pending.written) continue;
      this.pending.delete(correlation);
      this.settle(pending);
      pending.reject(new ConnectionLostError(this.peer, reason));
    }
    const kept = this.queue.drain();
    for (const entry of kept) {
      if (entry.kind === EntryKind.response) this.release(entry);
      else this.queue.push(entry);
    }
  }

  /**
   * Shuts the channel: rejects every request, reports every one-way message not known to be
   * delivered, and refuses new ones.
   */
  close(): void {
    this.closed = true;
    this.detach('transport closed');
    for (const pending of this.pending.values()) {
      this.settle(pending);
      pending.reject(new TransportClosedError());
    }
    this.pending.clear();
    this.reportUnacknowledged('closed', true);
    const unsent: UndeliveredMessage[] = [];
    for (const entry of this.queue.drain()) {
      if (entry.kind === EntryKind.oneWay) {
        unsent.push({
          type: entry.type,
          payload: entry.payload,
          reason: 'closed',
          maybeDelivered: false,
        });
      }
    }
    this.queuedMessages = 0;
    this.queuedBytes = 0;
    if (unsent.length > 0) this.context.reportUndelivered(this.peer, unsent);
  }

  private answer(type: number, correlation: number, payload: Uint8Array): void {
    const epoch = this.epoch;
    const respond = (reply: Reply): void =>
      this.respond(epoch, correlation, 0, reply.type, reply.payload);
    const fail = (error: unknown): void => {
      const message = error instanceof Error ? error.message : String(error);
      this.respond(epoch, correlation, FrameFlags.error, 0, Buffer.from(message, 'utf8'));
    };
    let reply: Reply | Promise<Reply>;
    try {
      reply = this.context.handleRequest(this.peer, type, payload);
    } catch (error) {
      fail(error);
      return;
    }
    if (reply instanceof Promise) reply.then(respond, fail);
    else respond(reply);
  }

  private respond(
    epoch: number,
    correlation: number,
    extraFlags: number,
    type: number,
    payload: Uint8Array,
  ): void {
    // A response for an older connection would reach a requester that already gave up (or a new
    // incarnation that reuses correlation ids), so it is dropped.
    if (epoch !== this.epoch || this.link === undefined || this.closed) return;
    if (this.overLimit(payload.byteLength) !== undefined) return;
    this.enqueue({
      kind: EntryKind.response,
      flags: FrameFlags.response | extraFlags,
      type,
      correlation,
      payload,
      pending: undefined,
    });
  }

  private settleResponse(
    flags: number,
    type: number,
    correlation: number,
    payload: Uint8Array,
  ): void {
    const pending = this.pending.get(correlation);
    if (pending === undefined) {
      this.context.countLateResponse();
      return;
    }
    this.pending.delete(correlation);
    this.settle(pending);
    if ((flags & FrameFlags.error) !== 0) {
      pending.reject(new RemoteHandlerError(this.peer, Buffer.from(payload).toString('utf8')));
    } else {
      pending.resolve({ type, payload });
    }
  }

  private timeOut(correlation: number, timeoutMs: number): void {
    const pending = this.pending.get(correlation);
    if (pending === undefined) return;
    pending.timer = undefined;
    this.pending.delete(correlation);
    this.settle(pending);
    this.context.countTimeout();
    pending.reject(new TransportTimeoutError(this.peer, timeoutMs));
  }

  /** Marks a request finished: frees its window slot or its queue accounting, and its timer. */
  private settle(pending: PendingRequest): void {
    if (pending.settled) return;
    pending.settled = true;
    if (pending.timer !== undefined) this.context.timers.clearTimeout(pending.timer);
    pending.timer = undefined;
    if (pending.written) {
      this.inFlight -= 1;
      if (this.inFlight < 0) this.inFlight = 0;
      if (this.queue.length > 0) this.link?.requestFlush();
    } else {
      // Still queued: it will be skipped when reached, so stop counting it against the bound now.
      this.release(pending.entry);
    }
  }

  private enqueue(entry: Entry): void {
    this.queuedMessages += 1;
    this.queuedBytes += entry.payload.byteLength;
    this.queue.push(entry);
    if (this.queue.length === 1) this.link?.requestFlush();
  }

  private release(entry: Entry): void {
    if (entry.payload === EMPTY) return;
    this.queuedMessages -= 1;
    this.queuedBytes -= entry.payload.byteLength;
    // Requests are released once (when written or when settled unwritten); mark to avoid twice.
    entry.payload = EMPTY;
  }

  private overLimit(bytes: number): string | undefined {
    if (this.queuedMessages >= this.context.maxQueuedMessages) {
      return `${this.context.maxQueuedMessages} messages`;
    }
    if (this.queuedBytes + bytes > this.context.maxQueuedBytes) {
      return `${this.context.maxQueuedBytes} bytes`;
    }
    return undefined;
  }

  /** How many unacknowledged messages have sequence numbers up to and including `sequence`. */
  private countThrough(sequence: number): number {
    const first = this.unacknowledged.at(0);
    if (first === undefined) return 0;
    const distance = (sequence - first.correlation + UINT32) % UINT32;
    return distance < this.unacknowledged.length ? distance + 1 : 0;
  }

  private reportUnacknowledged(reason: UndeliveredReason, maybeDelivered: boolean): void {
    if (this.unacknowledged.length === 0) return;
    const lost = this.unacknowledged.drain().map((entry) => {
      const message = { type: entry.type, payload: entry.payload, reason, maybeDelivered };
      this.release(entry);
      return message;
    });
    this.context.reportUndelivered(this.peer, lost);
  }
}
