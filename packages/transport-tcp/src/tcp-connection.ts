import type { Socket } from 'node:net';
import { HandshakeError, ProtocolError, type HandshakeRejection } from './errors.js';
import { FrameBatch } from './frame-batch.js';
import { FrameDecoder } from './frame-decoder.js';
import {
  ControlType,
  FRAME_HEADER_BYTES,
  FrameFlags,
  KNOWN_FLAGS,
  writeFrameHeader,
} from './frame.js';
import {
  computeProof,
  decodeChallenge,
  decodeHello,
  decodeProof,
  decodeWelcome,
  encodeChallenge,
  encodeHello,
  encodeProof,
  encodeWelcome,
  MAX_HANDSHAKE_PAYLOAD_BYTES,
  NONCE_BYTES,
  proofMatches,
  type Hello,
  type ReceiveProgress,
} from './handshake.js';
import type { TransportCounters } from './metrics.js';
import type { PeerChannel } from './peer-channel.js';
import type { Logger, Timers } from './ports.js';

/** Bytes gathered per socket write before handing them to the kernel. */
const BATCH_BYTES = 64 * 1024;

/** What a connection needs from its transport. */
export interface ConnectionContext {
  readonly nodeId: string;
  readonly clusterId: string;
  readonly secret: Uint8Array;
  readonly incarnation: Uint8Array;
  readonly timers: Timers;
  readonly logger: Logger;
  readonly counters: TransportCounters;
  readonly handshakeTimeoutMs: number;
  readonly maxFrameBytes: number;
  randomBytes(length: number): Uint8Array;
  isKnownPeer(nodeId: string): boolean;
  channel(nodeId: string): PeerChannel;
  /** Acceptor only: closes any older connection from `peer` before progress is computed. */
  retireConnection(peer: string): void;
  authenticated(
    connection: TcpConnection,
    peer: string,
    peerIncarnation: string,
    remote: ReceiveProgress,
  ): void;
  rejected(connection: TcpConnection, reason: HandshakeRejection, detail: string): void;
  closed(connection: TcpConnection, reason: string): void;
}

type Phase =
  | 'connecting'
  | 'awaiting-hello'
  | 'awaiting-challenge'
  | 'awaiting-proof'
  | 'awaiting-welcome'
  | 'open'
  | 'closed';

/**
 * One TCP (or TLS) socket to a peer: runs the handshake, then carries a {@link PeerChannel}
 * with coalesced writes that respect `socket.write` backpressure.
 */
export class TcpConnection {
  /** The authenticated peer, or the peer dialed; undefined for an acceptor before the hello. */
  peer: string | undefined;
  private phase: Phase;
  private readonly decoder: FrameDecoder;
  private readonly batch = new FrameBatch();
  private channel: PeerChannel | undefined;
  private handshakeTimer: unknown;
  private flushScheduled: ReturnType<typeof setImmediate> | undefined;
  private awaitingDrain = false;
  /** Set by {@link TcpConnection.end}: nothing more is written, but reading goes on. */
  private ending = false;
  private hello: Hello | undefined;
  private acceptorNonce: Uint8Array | undefined;
  private peerIncarnation = '';
  private readonly closedPromise: Promise<void>;

  constructor(
    private readonly socket: Socket,
    /** Which side opened the connection. */
    readonly role: 'dialer' | 'acceptor',
    private readonly context: ConnectionContext,
    dialedPeer?: string,
  ) {
    this.peer = dialedPeer;
    this.phase = role === 'dialer' ? 'connecting' : 'awaiting-hello';
    this.decoder = new FrameDecoder(
      MAX_HANDSHAKE_PAYLOAD_BYTES,
      (flags, type, correlation, payload) => this.onFrame(flags, type, correlation, payload),
    );
    this.closedPromise = new Promise((resolve) => socket.once('close', () => resolve()));
    this.handshakeTimer = context.timers.setTimeout(() => {
      this.handshakeTimer = undefined;
      this.reject('timeout', `no handshake within ${context.handshakeTimeoutMs} ms`);
    }, context.handshakeTimeoutMs);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => {
      this.awaitingDrain = false;
      this.flush();
    });
    socket.on('error', (error) => this.destroy(`socket error: ${error.message}`));
    socket.on('close', () => this.destroy('socket closed'));
  }

  /** Dialer: the socket is connected (and TLS-secured, if used); sends the hello. */
  start(): void {
    if (this.phase !== 'connecting') return;
    const hello: Hello = {
      clusterId: this.context.clusterId,
      dialerId: this.context.nodeId,
      acceptorId: this.peer!,
      dialerNonce: this.context.randomBytes(NONCE_BYTES),
      dialerIncarnation: this.context.incarnation,
    };
    this.hello = hello;
    this.phase = 'awaiting-challenge';
    this.writeControl(ControlType.hello, encodeHello(hello));
  }

  /** Bytes written to the socket that it has not yet handed to the kernel. */
  get bufferedBytes(): number {
    return this.socket.writableLength;
  }

  /** Resolves when the socket has closed. */
  get closed(): Promise<void> {
    return this.closedPromise;
  }

  /** Schedules one coalesced write of everything queued on the channel (at most once per tick). */
  requestFlush(): void {
    if (this.flushScheduled !== undefined || this.awaitingDrain || this.ending) return;
    if (this.phase !== 'open') return;
    this.flushScheduled = setImmediate(this.flush);
  }

  /**
   * Graceful close: writes what the channel has queued, then half-closes. The socket stays
   * readable so acknowledgements still arrive until the peer closes its side.
   */
  end(): void {
    if (this.phase === 'open' && this.channel !== undefined) {
      this.cancelFlush();
      while (this.channel.hasWritableFrames) {
        this.channel.drainInto(this.batch, Number.MAX_SAFE_INTEGER);
        const frames = this.batch.frames;
        const chunks = this.batch.take();
        if (chunks.length === 0) break;
        this.writeChunks(chunks, frames);
      }
    }
    if (this.phase !== 'open') {
      this.destroy('transport closed');
      return;
    }
    this.ending = true;
    this.socket.end();
  }

  /** Closes at once; pending writes are discarded. Idempotent. */
  destroy(reason: string): void {
    if (this.phase === 'closed') return;
    const wasOpen = this.phase === 'open';
    this.phase = 'closed';
    this.decoder.stop();
    this.cancelFlush();
    if (this.handshakeTimer !== undefined) this.context.timers.clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
    this.socket.destroy();
    this.context.logger.debug(
      { peer: this.peer, role: this.role, reason, wasOpen },
      'connection closed',
    );
    this.context.closed(this, reason);
  }

  private onData(chunk: Buffer): void {
    this.context.counters.bytesIn += chunk.length;
    try {
      this.decoder.push(chunk);
    } catch (error) {
      this.onProtocolError(error);
    }
  }

  private onProtocolError(error: unknown): void {
    if (this.phase === 'closed') return;
    const message = error instanceof Error ? error.message : String(error);
    if (this.phase !== 'open') {
      const code = error instanceof ProtocolError ? error.code : '';
      if (error instanceof HandshakeError) this.reject(error.reason, message);
      else this.reject(code === 'UNSUPPORTED_VERSION' ? 'wrong-version' : 'malformed', message);
      return;
    }
    this.context.counters.protocolErrors += 1;
    this.context.logger.warn(
      { peer: this.peer, error: message },
      'protocol error; closing connection',
    );
    this.destroy(`protocol error: ${message}`);
  }

  private onFrame(flags: number, type: number, correlation: number, payload: Buffer): void {
    this.context.counters.framesIn += 1;
    if (this.phase === 'open') {
      if ((flags & FrameFlags.control) === 0) {
        if ((flags & ~KNOWN_FLAGS) !== 0 || !isDataFlags(flags)) {
          throw new ProtocolError(`unknown frame flags ${flags}`);
        }
        this.channel!.receive(flags, type, correlation, payload);
      } else if (flags === FrameFlags.control && type === ControlType.acknowledge) {
        this.channel!.acknowledge(correlation);
      } else {
        throw new ProtocolError(`unexpected control frame type ${type} flags ${flags}`);
      }
      return;
    }
    if (flags !== FrameFlags.control)
      throw new HandshakeError('malformed', 'data frame before handshake');
    switch (this.phase) {
      case 'awaiting-hello':
        return this.expect(type, ControlType.hello, () => this.onHello(decodeHello(payload)));
      case 'awaiting-challenge':
        return this.expect(type, ControlType.challenge, () => this.onChallenge(payload));
      case 'awaiting-proof':
        return this.expect(type, ControlType.proof, () => this.onProof(payload));
      case 'awaiting-welcome':
        return this.expect(type, ControlType.welcome, () => this.onWelcome(payload));
      default:
        throw new HandshakeError('malformed', `frame in phase ${this.phase}`);
    }
  }

  private expect(type: number, expected: number, handle: () => void): void {
    if (type !== expected)
      throw new HandshakeError('malformed', `control type ${type}, expected ${expected}`);
    handle();
  }

  /** Acceptor: check who is calling, then prove we know the secret and challenge them. */
  private onHello(hello: Hello): void {
    const context = this.context;
    if (hello.clusterId !== context.clusterId) {
      throw new HandshakeError('wrong-cluster', `cluster ${JSON.stringify(hello.clusterId)}`);
    }
    if (hello.acceptorId !== context.nodeId) {
      throw new HandshakeError('wrong-peer', `dialed ${JSON.stringify(hello.acceptorId)}`);
    }
    if (!context.isKnownPeer(hello.dialerId) || hello.dialerId === context.nodeId) {
      throw new HandshakeError('unknown-node', `node ${JSON.stringify(hello.dialerId)}`);
    }
    if (!(hello.dialerId < context.nodeId)) {
      throw new HandshakeError(
        'wrong-direction',
        `${hello.dialerId} must wait for ${context.nodeId} to dial`,
      );
    }
    this.peer = hello.dialerId;
    this.hello = hello;
    this.acceptorNonce = context.randomBytes(NONCE_BYTES);
    this.phase = 'awaiting-proof';
    this.writeControl(
      ControlType.challenge,
      encodeChallenge({
        acceptorId: context.nodeId,
        acceptorNonce: this.acceptorNonce,
        acceptorIncarnation: context.incarnation,
        proof: computeProof(context.secret, 'acceptor', hello, this.acceptorNonce),
      }),
    );
  }

  /** Dialer: the acceptor proved it knows the secret; prove we do too. */
  private onChallenge(payload: Buffer): void {
    const challenge = decodeChallenge(payload);
    const hello = this.hello!;
    if (challenge.acceptorId !== hello.acceptorId) {
      throw new HandshakeError(
        'wrong-peer',
        `expected ${hello.acceptorId}, reached ${challenge.acceptorId}`,
      );
    }
    const expected = computeProof(this.context.secret, 'acceptor', hello, challenge.acceptorNonce);
    if (!proofMatches(expected, challenge.proof)) {
      throw new HandshakeError('bad-proof', `${hello.acceptorId} does not know the cluster secret`);
    }
    this.peerIncarnation = hex(challenge.acceptorIncarnation);
    const progress = this.context.channel(hello.acceptorId).receiveProgress(this.peerIncarnation);
    this.phase = 'awaiting-welcome';
    this.writeControl(
      ControlType.proof,
      encodeProof({
        proof: computeProof(this.context.secret, 'dialer', hello, challenge.acceptorNonce),
        ...progress,
      }),
    );
  }

  /** Acceptor: the dialer proved it knows the secret; the connection is authenticated. */
  private onProof(payload: Buffer): void {
    const proof = decodeProof(payload);
    const hello = this.hello!;
    const expected = computeProof(this.context.secret, 'dialer', hello, this.acceptorNonce!);
    if (!proofMatches(expected, proof.proof)) {
      throw new HandshakeError('bad-proof', `${hello.dialerId} does not know the cluster secret`);
    }
    const peer = hello.dialerId;
    const peerIncarnation = hex(hello.dialerIncarnation);
    this.context.retireConnection(peer);
    const progress = this.context.channel(peer).receiveProgress(peerIncarnation);
    this.writeControl(ControlType.welcome, encodeWelcome(progress));
    this.open(peer, peerIncarnation, proof);
  }

  /** Dialer: the acceptor accepted us. */
  private onWelcome(payload: Buffer): void {
    const progress = decodeWelcome(payload);
    this.open(this.hello!.acceptorId, this.peerIncarnation, progress);
  }

  private open(peer: string, peerIncarnation: string, remote: ReceiveProgress): void {
    if (this.handshakeTimer !== undefined) this.context.timers.clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
    this.phase = 'open';
    this.decoder.setMaxPayloadBytes(this.context.maxFrameBytes);
    this.channel = this.context.channel(peer);
    this.context.authenticated(this, peer, peerIncarnation, remote);
  }

  private reject(reason: HandshakeRejection, detail: string): void {
    if (this.phase === 'closed' || this.phase === 'open') return;
    this.context.rejected(this, reason, detail);
    this.destroy(`handshake rejected: ${reason}`);
  }

  private readonly flush = (): void => {
    this.flushScheduled = undefined;
    const channel = this.channel;
    if (this.phase !== 'open' || this.ending || channel === undefined) return;
    while (channel.hasWritableFrames) {
      channel.drainInto(this.batch, BATCH_BYTES);
      const frames = this.batch.frames;
      const chunks = this.batch.take();
      if (chunks.length === 0) return;
      if (!this.writeChunks(chunks, frames)) {
        this.awaitingDrain = true;
        return;
      }
    }
  };

  /** Writes chunks as one gathered write; returns what `socket.write` said about backpressure. */
  private writeChunks(chunks: Buffer[], frames: number): boolean {
    const counters = this.context.counters;
    counters.framesOut += frames;
    let ok = true;
    if (chunks.length === 1) {
      counters.bytesOut += chunks[0]!.length;
      return this.socket.write(chunks[0]!);
    }
    this.socket.cork();
    for (const chunk of chunks) {
      counters.bytesOut += chunk.length;
      ok = this.socket.write(chunk);
    }
    this.socket.uncork();
    return ok;
  }

  private writeControl(type: number, payload: Buffer): void {
    const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
    writeFrameHeader(frame, 0, payload.length, FrameFlags.control, type, 0);
    payload.copy(frame, FRAME_HEADER_BYTES);
    this.context.counters.framesOut += 1;
    this.context.counters.bytesOut += frame.length;
    this.socket.write(frame);
  }

  private cancelFlush(): void {
    if (this.flushScheduled !== undefined) clearImmediate(this.flushScheduled);
    this.flushScheduled = undefined;
  }
}

function isDataFlags(flags: number): boolean {
  return (
    flags === 0 ||
    flags === FrameFlags.request ||
    flags === FrameFlags.response ||
    flags === (FrameFlags.response | FrameFlags.error)
  );
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}
