import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type PeerCertificate } from 'node:tls';
import { backoffDelayMs, type BackoffOptions } from './backoff.js';
import { UnknownPeerError, TransportClosedError, type HandshakeRejection } from './errors.js';
import { DEFAULT_MAX_FRAME_BYTES } from './frame.js';
import type { ReceiveProgress } from './handshake.js';
import { createCounters, type TransportCounters, type TransportMetrics } from './metrics.js';
import { nodeTimers } from './node-clock.js';
import { nodeRandom, secureRandomBytes } from './node-random.js';
import { PeerChannel, type ChannelContext } from './peer-channel.js';
import { PendingHandshakes } from './pending-handshakes.js';
import { silentLogger, type Logger, type Random, type Timers } from './ports.js';
import { TcpConnection, type ConnectionContext } from './tcp-connection.js';
import { dialSocket, secretBytes } from './tcp-dial.js';
import type {
  MessageHandler,
  Reply,
  RequestHandler,
  UndeliveredHandler,
  UndeliveredMessage,
} from './types.js';

/** The default of {@link TcpTransportOptions.handshakeTimeoutMs}, in milliseconds. */
const DEFAULT_HANDSHAKE_TIMEOUT_MS = 2000;

/** Where a peer listens. */
export interface PeerAddress {
  host: string;
  port: number;
}

/** Mutual TLS: every node presents a certificate signed by `ca` and requires one from its peer. */
export interface TlsOptions {
  /** This node's private key (PEM). */
  key: string | Buffer;
  /** This node's certificate chain (PEM). */
  cert: string | Buffer;
  /** The cluster's certificate authority (PEM); peer certificates must chain to it. */
  ca: string | Buffer | (string | Buffer)[];
  /**
   * Checks the dialed peer's certificate against its host name. Default: no host-name check,
   * because peer identity is the node id proven by the HMAC handshake and the certificate proves
   * membership of the cluster CA. Pass `tls.checkServerIdentity` to also check host names.
   */
  checkServerIdentity?: (host: string, cert: PeerCertificate) => Error | undefined;
}

/** Configuration of a {@link TcpTransport}. Durations are in milliseconds, sizes in bytes. */
export interface TcpTransportOptions {
  /** This node's id; at most 255 UTF-8 bytes. */
  nodeId: string;
  /** The cluster's id; a peer with a different one is refused. */
  clusterId: string;
  /** The shared cluster secret for HMAC-SHA256 challenge-response; it never crosses the wire. */
  secret: string | Uint8Array;
  /**
   * Every other node of the cluster by id, with its address if known. Only these ids may connect.
   * Addresses of peers with a higher id are needed (this node dials them); others may be undefined.
   */
  peers: Record<string, PeerAddress | undefined>;
  /** Where to listen. Default host `127.0.0.1`, port 0 (any free port; see {@link TcpTransport.address}). */
  listen?: { host?: string; port?: number };
  /** Timers for request, handshake and close timeouts and reconnect delays. Default: Node timers. */
  timers?: Timers;
  /** Source of reconnect jitter. Default: `Math.random`. */
  random?: Random;
  /** Random bytes for nonces and the incarnation id. Default: `crypto.randomBytes`. */
  randomBytes?: (length: number) => Uint8Array;
  /** Logger; default silent. */
  logger?: Logger;
  /** Mutual TLS; default plain TCP. */
  tls?: TlsOptions;
  /** Largest payload of one frame, checked before allocating. Default 16 MiB. */
  maxFrameBytes?: number;
  /**
   * Time allowed for a new connection to authenticate (two round trips of small messages).
   * Short, because an unauthenticated connection holds a slot. Default 2,000 ms.
   */
  handshakeTimeoutMs?: number;
  /** Default per-request timeout. Default 5,000 ms. */
  requestTimeoutMs?: number;
  /** Requests written and awaiting responses, per peer. Default 256. */
  maxInFlightRequests?: number;
  /** Messages queued or awaiting acknowledgement, per peer. Default 100,000. */
  maxQueuedMessages?: number;
  /** Payload bytes queued or awaiting acknowledgement, per peer. Default 64 MiB. */
  maxQueuedBytes?: number;
  /**
   * How long the cumulative acknowledgement of received one-way messages may wait to ride on
   * outbound data instead of costing a socket write (and a wake-up of the peer) of its own.
   * It goes out at once after 256 messages or 256 KiB. When one rode on data while the delay ran,
   * the delay starts again (the link is busy), so the wait is at most twice this. Acknowledgements
   * only free the sender's retained copies; delivery order and loss reporting do not depend on
   * them. Default 10 ms; 0 acknowledges every read at once.
   */
  acknowledgementDelayMs?: number;
  /**
   * Accepted connections that have not yet authenticated, held at once. At the bound a newcomer
   * evicts the oldest idle one (see {@link TcpTransportOptions.maxPendingHandshakesPerAddress}).
   * Default 64.
   */
  maxPendingHandshakes?: number;
  /**
   * Of those, from one source IP address. A newcomer from an address at its bound evicts that
   * address's oldest connection that has not sent a hello (else its oldest), so idle sockets
   * never keep a real peer out, even from the same address. Default 8.
   */
  maxPendingHandshakesPerAddress?: number;
  /** Reconnect backoff. */
  reconnect?: BackoffOptions;
  /** How long {@link TcpTransport.close} waits for peers to close their side. Default 2,000 ms. */
  closeTimeoutMs?: number;
  /**
   * Answers inquiries (see {@link inquire}): a process that knows the secret but is not a peer
   * yet, such as a member joining a running cluster that must learn the cluster id and its own
   * node id, asks once and gets these bytes, MAC'd with the secret. It must prove the secret
   * first, exactly as a peer does (and present a certificate of the cluster CA with `tls`).
   * Keep the answer small: the inquirer bounds what it reads. Default: inquiries are refused
   * (`unknown-node`).
   */
  answerInquiry?: (inquirer: string) => Uint8Array;
  /**
   * The secret an inquirer must prove, and that MACs the answer. Default `secret`. Differs only
   * where `secret` is derived from something an inquirer cannot know yet (such as the cluster
   * id) and `tls` authenticates the inquirer.
   */
  inquirySecret?: string | Uint8Array;
}

/** Options of one request. */
export interface RequestOptions {
  /** Time to wait for the response, in milliseconds; default the transport's `requestTimeoutMs`. */
  timeoutMs?: number;
}

/** Connection lifecycle and security events. */
export type TransportEvent =
  | { kind: 'peer-connected'; peer: string }
  | { kind: 'peer-disconnected'; peer: string; reason: string }
  | {
      kind: 'handshake-rejected';
      reason: HandshakeRejection;
      detail: string;
      /** The claimed or dialed peer id, when known. */
      peer: string | undefined;
      remoteAddress: string | undefined;
    }
  | {
      /**
       * A record on an authenticated connection failed authentication (altered, replayed,
       * reordered, truncated or sealed with another key). Nothing of it was delivered and the
       * connection was closed; the dialer reconnects with fresh keys.
       */
      kind: 'integrity-failure';
      peer: string;
      detail: string;
      remoteAddress: string | undefined;
    }
  | { kind: 'reconnect-scheduled'; peer: string; attempt: number; delayMs: number }
  /** An inquirer proved the secret and was answered (see {@link TcpTransportOptions.answerInquiry}). */
  | { kind: 'inquiry-answered'; inquirer: string; remoteAddress: string | undefined };

interface DialState {
  address: PeerAddress | undefined;
  connection: TcpConnection | undefined;
  timer: unknown;
  attempt: number;
  dialedBefore: boolean;
}

/**
 * Framed, authenticated peer messaging over one TCP connection per peer pair (Single Socket
 * Channel) with many requests in flight on it (Request Pipeline).
 *
 * The node with the lexicographically lower id dials; the other accepts. One-way messages and
 * requests to a peer travel in order on that single connection; while it is down they wait in a
 * bounded queue and are sent once it is back.
 */
export class TcpTransport {
  private readonly counters = createCounters();
  private readonly channels = new Map<string, PeerChannel>();
  private readonly dialStates = new Map<string, DialState>();
  private readonly active = new Map<string, TcpConnection>();
  private readonly connections = new Set<TcpConnection>();
  private readonly eventListeners = new Set<(event: TransportEvent) => void>();
  private messageHandler: MessageHandler | undefined;
  private requestHandler: RequestHandler | undefined;
  private undeliveredHandler: UndeliveredHandler | undefined;
  private closing: Promise<void> | undefined;
  /** Accepted connections still in their handshake, bounded in total and per source address. */
  private readonly handshaking: PendingHandshakes<TcpConnection>;
  private readonly timers: Timers;
  private readonly random: Random;
  private readonly logger: Logger;
  private readonly requestTimeoutMs: number;
  private readonly maxFrameBytes: number;
  private readonly connectionContext: ConnectionContext;
  private readonly channelContext: ChannelContext;

  private constructor(
    private readonly options: TcpTransportOptions,
    private readonly server: Server,
  ) {
    this.timers = options.timers ?? nodeTimers;
    this.random = options.random ?? nodeRandom;
    this.logger = options.logger ?? silentLogger;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 5000;
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.handshaking = new PendingHandshakes(
      options.maxPendingHandshakes ?? 64,
      options.maxPendingHandshakesPerAddress ?? 8,
    );
    const randomBytes = options.randomBytes ?? secureRandomBytes;
    const channelContext: ChannelContext = {
      timers: this.timers,
      maxQueuedMessages: options.maxQueuedMessages ?? 100_000,
      maxQueuedBytes: options.maxQueuedBytes ?? 64 * 1024 * 1024,
      maxInFlightRequests: options.maxInFlightRequests ?? 256,
      acknowledgementDelayMs: options.acknowledgementDelayMs ?? 10,
      deliverMessage: (from, type, payload) => this.deliverMessage(from, type, payload),
      handleRequest: (from, type, payload) => {
        if (this.requestHandler === undefined) throw new Error('no request handler registered');
        return this.requestHandler(from, type, payload);
      },
      reportUndelivered: (peer, messages) => this.reportUndelivered(peer, messages),
      countTimeout: () => {
        this.counters.requestsTimedOut += 1;
      },
      countLateResponse: () => {
        this.counters.lateResponses += 1;
      },
    };
    this.channelContext = channelContext;
    for (const [peer, address] of Object.entries(options.peers)) {
      if (peer === options.nodeId) continue;
      this.registerPeer(peer, address);
    }
    this.connectionContext = {
      nodeId: options.nodeId,
      clusterId: options.clusterId,
      secret: secretBytes(options.secret),
      incarnation: randomBytes(8),
      timers: this.timers,
      logger: this.logger,
      counters: this.counters,
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
      maxFrameBytes: this.maxFrameBytes,
      randomBytes,
      isKnownPeer: (nodeId) => this.channels.has(nodeId),
      answerInquiry: options.answerInquiry,
      inquirySecret:
        options.inquirySecret === undefined ? undefined : secretBytes(options.inquirySecret),
      inquiryAnswered: (connection, inquirer) => {
        this.handshaking.remove(connection);
        this.logger.info({ inquirer, remoteAddress: connection.remoteAddress }, 'inquiry answered');
        this.emit({ kind: 'inquiry-answered', inquirer, remoteAddress: connection.remoteAddress });
      },
      channel: (nodeId) => this.channels.get(nodeId)!,
      retireConnection: (peer) => this.active.get(peer)?.destroy('replaced by a new connection'),
      authenticated: (connection, peer, incarnation, remote) =>
        this.onAuthenticated(connection, peer, incarnation, remote),
      rejected: (connection, reason, detail) => this.onRejected(connection, reason, detail),
      integrityFailure: (connection, detail) => {
        this.emit({
          kind: 'integrity-failure',
          peer: connection.peer ?? '',
          detail,
          remoteAddress: connection.remoteAddress,
        });
      },
      closed: (connection, reason) => this.onClosed(connection, reason),
    };
    const onSocket = (socket: Socket): void => this.accept(socket);
    server.on(options.tls === undefined ? 'connection' : 'secureConnection', onSocket);
    server.on('tlsClientError', (error: Error, socket: Socket) => {
      this.noteRejection('tls', error.message, undefined, socket.remoteAddress);
      socket.destroy();
    });
  }

  /**
   * Starts listening and dialing the peers this node is responsible for.
   *
   * @throws when the listen address cannot be bound (e.g. `EADDRINUSE`), or on invalid options
   */
  static async start(options: TcpTransportOptions): Promise<TcpTransport> {
    if (Buffer.byteLength(options.nodeId) === 0 || Buffer.byteLength(options.nodeId) > 255) {
      throw new RangeError('nodeId must be 1 to 255 UTF-8 bytes');
    }
    const handshakeTimeoutMs = options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
    // Checked here so a bad bound fails start() rather than the first accepted connection.
    new PendingHandshakes(
      options.maxPendingHandshakes ?? 64,
      options.maxPendingHandshakesPerAddress ?? 8,
    );
    const server =
      options.tls === undefined
        ? createNetServer({ noDelay: true })
        : createTlsServer({
            key: options.tls.key,
            cert: options.tls.cert,
            ca: options.tls.ca,
            requestCert: true,
            rejectUnauthorized: true,
            handshakeTimeout: handshakeTimeoutMs,
          });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.listen?.port ?? 0, options.listen?.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const transport = new TcpTransport(options, server);
    for (const peer of transport.dialStates.keys()) transport.dial(peer);
    return transport;
  }

  /** The address this node listens on (with the real port when started on port 0). */
  get address(): PeerAddress {
    const bound = this.server.address();
    if (bound === null || typeof bound === 'string')
      throw new TransportClosedError('not listening');
    return { host: bound.address, port: bound.port };
  }

  /** This node's id. */
  get nodeId(): string {
    return this.options.nodeId;
  }

  /**
   * Sets (or changes) where a peer listens. Only matters for peers this node dials (higher ids);
   * dials at once if not yet connected.
   *
   * @throws {@link UnknownPeerError} for an id not in `peers`
   */
  setPeerAddress(peer: string, address: PeerAddress): void {
    if (!this.channels.has(peer)) throw new UnknownPeerError(peer);
    const state = this.dialStates.get(peer);
    if (state === undefined) return;
    state.address = address;
    if (state.connection === undefined && !this.closing) {
      if (state.timer !== undefined) this.timers.clearTimeout(state.timer);
      state.timer = undefined;
      this.dial(peer);
    }
  }

  /**
   * Admits a new peer at run time (a member added to the cluster): from now on it may connect, and
   * this node dials it when its id is higher. Adding a known peer only updates its address, like
   * {@link TcpTransport.setPeerAddress}.
   *
   * @param address - where the peer listens; may be undefined when the peer dials this node
   * @throws RangeError for this node's own id or an id longer than 255 UTF-8 bytes;
   *   {@link TransportClosedError} after close
   */
  addPeer(peer: string, address: PeerAddress | undefined): void {
    if (peer === this.options.nodeId) throw new RangeError('a node cannot be its own peer');
    if (Buffer.byteLength(peer) === 0 || Buffer.byteLength(peer) > 255) {
      throw new RangeError('peer id must be 1 to 255 UTF-8 bytes');
    }
    if (this.closing !== undefined) throw new TransportClosedError();
    if (this.channels.has(peer)) {
      if (address !== undefined) this.setPeerAddress(peer, address);
      return;
    }
    this.registerPeer(peer, address);
    if (this.dialStates.has(peer)) this.dial(peer);
  }

  /**
   * Forgets a peer at run time (a member removed from the cluster): its open connection and any
   * connection still in its handshake are closed, it is no longer dialed, and from now on its
   * handshakes are refused as `unknown-node`. Requests to it reject with
   * {@link TransportClosedError}, and queued one-way messages are reported undelivered (reason
   * `closed`). Removing an unknown peer does nothing.
   */
  removePeer(peer: string): void {
    const channel = this.channels.get(peer);
    if (channel === undefined) return;
    const state = this.dialStates.get(peer);
    if (state !== undefined && state.timer !== undefined) this.timers.clearTimeout(state.timer);
    // No reconnect: onClosed finds no dial state for the peer.
    this.dialStates.delete(peer);
    for (const connection of [...this.connections]) {
      if (connection.peer === peer) connection.destroy('peer removed');
    }
    this.channels.delete(peer);
    channel.close();
    this.logger.info({ peer }, 'peer removed');
  }

  /** The ids of the peers this node currently accepts and talks to. */
  get peerIds(): string[] {
    return [...this.channels.keys()];
  }

  /**
   * Sends a one-way message, in order with everything else sent to `to`. Never throws for
   * connectivity: when the message cannot be delivered (queue bound reached, connection lost
   * after writing, transport closed) it is reported to the {@link TcpTransport.onUndelivered}
   * handler. The transport keeps a reference to `payload` until written: do not modify it.
   *
   * @param type - unsigned 16-bit message-type tag
   * @throws {@link UnknownPeerError} when `to` is not a configured peer; RangeError for a bad
   *   `type` or a payload larger than `maxFrameBytes`
   */
  send(to: string, type: number, payload: Uint8Array): void {
    this.channelFor(to, type, payload).send(type, payload);
  }

  /** Sets the single handler for inbound one-way messages. The handler owns `payload`. */
  onMessage(handler: MessageHandler): void {
    this.messageHandler = handler;
  }

  /**
   * Sends a request and resolves with the peer's response. Requests to a peer are pipelined on its
   * connection: up to `maxInFlightRequests` await responses at once; more wait in the queue.
   *
   * @throws (rejects) {@link TransportTimeoutError} after `timeoutMs` (outcome unknown),
   *   {@link ConnectionLostError} when the connection dropped after writing it (outcome unknown),
   *   {@link QueueFullError} (definite: not sent), {@link RemoteHandlerError} (the peer's handler
   *   failed), {@link TransportClosedError} (definite: not sent); throws synchronously like `send`
   *   for an unknown peer or bad arguments
   */
  request(
    to: string,
    type: number,
    payload: Uint8Array,
    options: RequestOptions = {},
  ): Promise<Reply> {
    const channel = this.channelFor(to, type, payload);
    return channel.request(type, payload, options.timeoutMs ?? this.requestTimeoutMs);
  }

  /** Sets the single handler that answers inbound requests. */
  onRequest(handler: RequestHandler): void {
    this.requestHandler = handler;
  }

  /** Sets the handler told about one-way messages that were dropped or may have been lost. */
  onUndelivered(handler: UndeliveredHandler): void {
    this.undeliveredHandler = handler;
  }

  /** Adds a listener for connection events; returns a function that removes it. */
  onEvent(listener: (event: TransportEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  /** True while an authenticated connection to `peer` is open. */
  isConnected(peer: string): boolean {
    return this.active.has(peer);
  }

  /** A snapshot of counters and per-peer gauges (queue depth, in-flight requests). */
  metrics(): TransportMetrics {
    const peers: TransportMetrics['peers'] = {};
    for (const [peer, channel] of this.channels)
      peers[peer] = {
        connected: channel.connected,
        ...channel.stats(),
        socketBufferedBytes: this.active.get(peer)?.bufferedBytes ?? 0,
      };
    const counters: TransportCounters = {
      ...this.counters,
      handshakesRejected: { ...this.counters.handshakesRejected },
    };
    return { ...counters, openConnections: this.connections.size, peers };
  }

  /**
   * Graceful close: stops accepting and reconnecting, writes what is queued on open connections,
   * half-closes them and waits up to `closeTimeoutMs` for peers to close their side, then rejects
   * every pending request and reports every one-way message not acknowledged as undelivered.
   * Leaves no sockets, servers or timers behind. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    const serverClosed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const state of this.dialStates.values()) {
      if (state.timer !== undefined) this.timers.clearTimeout(state.timer);
      state.timer = undefined;
    }
    for (const connection of this.connections) connection.end();
    const allClosed = Promise.all([...this.connections].map((connection) => connection.closed));
    let timer: unknown;
    const timedOut = new Promise<void>((resolve) => {
      timer = this.timers.setTimeout(resolve, this.options.closeTimeoutMs ?? 2000);
    });
    await Promise.race([allClosed, timedOut]);
    this.timers.clearTimeout(timer);
    for (const connection of this.connections) connection.destroy('transport closed');
    await allClosed;
    for (const channel of this.channels.values()) channel.close();
    await serverClosed;
  }

  private registerPeer(peer: string, address: PeerAddress | undefined): void {
    this.channels.set(peer, new PeerChannel(peer, this.channelContext));
    if (peer > this.options.nodeId) {
      this.dialStates.set(peer, {
        address,
        connection: undefined,
        timer: undefined,
        attempt: 0,
        dialedBefore: false,
      });
    }
  }

  private channelFor(to: string, type: number, payload: Uint8Array): PeerChannel {
    const channel = this.channels.get(to);
    if (channel === undefined) throw new UnknownPeerError(to);
    if (!Number.isInteger(type) || type < 0 || type > 0xffff) {
      throw new RangeError(`message type must be an unsigned 16-bit integer, got ${type}`);
    }
    if (payload.byteLength > this.maxFrameBytes) {
      throw new RangeError(
        `payload of ${payload.byteLength} bytes exceeds maxFrameBytes ${this.maxFrameBytes}`,
      );
    }
    return channel;
  }

  private dial(peer: string): void {
    const state = this.dialStates.get(peer)!;
    if (this.closing !== undefined || state.connection !== undefined) return;
    const address = state.address;
    if (address === undefined) return;
    if (state.dialedBefore) this.counters.reconnects += 1;
    state.dialedBefore = true;
    const { socket, readyEvent } = dialSocket(address, this.options.tls);
    const connection = new TcpConnection(socket, 'dialer', this.connectionContext, peer);
    state.connection = connection;
    this.connections.add(connection);
    socket.once(readyEvent, () => connection.start());
  }

  private accept(socket: Socket): void {
    const address = socket.remoteAddress;
    if (this.closing !== undefined || address === undefined) {
      socket.destroy();
      return;
    }
    const connection = new TcpConnection(socket, 'acceptor', this.connectionContext);
    this.connections.add(connection);
    for (const evicted of this.handshaking.admit(address, connection)) {
      evicted.refuse(
        'too-many-pending',
        `evicted for a newer connection: ${this.handshaking.countFrom(address)} pending from ${address}, ${this.handshaking.size} in all`,
      );
    }
  }

  private onAuthenticated(
    connection: TcpConnection,
    peer: string,
    incarnation: string,
    remote: ReceiveProgress,
  ): void {
    this.handshaking.remove(connection);
    this.counters.handshakesCompleted += 1;
    // The acceptor already retired any older connection; this covers every other path.
    const previous = this.active.get(peer);
    if (previous !== undefined && previous !== connection)
      previous.destroy('replaced by a new connection');
    this.active.set(peer, connection);
    const state = this.dialStates.get(peer);
    if (state !== undefined) state.attempt = 0;
    this.logger.info({ peer, role: connection.role }, 'peer connected');
    this.channels.get(peer)!.attach(connection, incarnation, remote);
    this.emit({ kind: 'peer-connected', peer });
  }

  private onRejected(connection: TcpConnection, reason: HandshakeRejection, detail: string): void {
    this.noteRejection(reason, detail, connection.peer, connection.remoteAddress);
  }

  private noteRejection(
    reason: HandshakeRejection,
    detail: string,
    peer: string | undefined,
    remoteAddress: string | undefined,
  ): void {
    this.counters.handshakesRejected[reason] += 1;
    this.logger.warn({ reason, detail, peer, remoteAddress }, 'handshake rejected');
    this.emit({ kind: 'handshake-rejected', reason, detail, peer, remoteAddress });
  }

  private onClosed(connection: TcpConnection, reason: string): void {
    this.handshaking.remove(connection);
    this.connections.delete(connection);
    const peer = connection.peer;
    if (peer !== undefined && this.active.get(peer) === connection) {
      this.active.delete(peer);
      this.channels.get(peer)!.detach(reason);
      this.logger.info({ peer, reason }, 'peer disconnected');
      this.emit({ kind: 'peer-disconnected', peer, reason });
    }
    if (connection.role !== 'dialer' || peer === undefined) return;
    const state = this.dialStates.get(peer);
    if (state === undefined || state.connection !== connection) return;
    state.connection = undefined;
    if (this.closing === undefined) this.scheduleReconnect(peer, state);
  }

  private scheduleReconnect(peer: string, state: DialState): void {
    const delayMs = backoffDelayMs(state.attempt, this.random, this.options.reconnect);
    state.attempt += 1;
    this.emit({ kind: 'reconnect-scheduled', peer, attempt: state.attempt, delayMs });
    state.timer = this.timers.setTimeout(() => {
      state.timer = undefined;
      this.dial(peer);
    }, delayMs);
  }

  private deliverMessage(from: string, type: number, payload: Uint8Array): void {
    const handler = this.messageHandler;
    if (handler === undefined) return;
    try {
      handler(from, type, payload);
    } catch (error) {
      this.counters.handlerErrors += 1;
      this.logger.error({ from, type, error }, 'message handler threw');
    }
  }

  private reportUndelivered(peer: string, messages: UndeliveredMessage[]): void {
    this.counters.messagesUndelivered += messages.length;
    try {
      this.undeliveredHandler?.(peer, messages);
    } catch (error) {
      this.counters.handlerErrors += 1;
      this.logger.error({ peer, error }, 'undelivered handler threw');
    }
  }

  private emit(event: TransportEvent): void {
    for (const listener of this.eventListeners) {
      try {
        listener(event);
      } catch (error) {
        this.counters.handlerErrors += 1;
        this.logger.error({ event: event.kind, error }, 'event listener threw');
      }
    }
  }
}
