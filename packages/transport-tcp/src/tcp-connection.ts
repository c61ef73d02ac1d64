import type { Socket } from 'node:net';
import {
  HandshakeError,
  IntegrityError,
  ProtocolError,
  type HandshakeRejection,
} from './errors.js';
import { FrameBatch } from './frame-batch.js';
import { FrameDecoder } from './frame-decoder.js';
import { ControlType, encodeControlFrame, FrameFlags, KNOWN_FLAGS } from './frame.js';
import {
  computeAnswerProof,
  computeProof,
  decodeChallenge,
  decodeHello,
  decodeProof,
  encodeChallenge,
  encodeHello,
  encodeProof,
  MAX_HANDSHAKE_PAYLOAD_BYTES,
  NONCE_BYTES,
  proofMatches,
  transcriptOf,
  type HandshakeRole,
  type Hello,
  type Proof,
  type ReceiveProgress,
  type Transcript,
} from './handshake.js';
import type { TransportCounters } from './metrics.js';
import type { PeerChannel } from './peer-channel.js';
import type { Logger, Timers } from './ports.js';
import { RecordOpener } from './record-opener.js';
import { RecordSealer } from './record-sealer.js';
import { deriveSessionKeys } from './session-keys.js';

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
  /**
   * Acceptor only: the answer to an authenticated inquiry (see `tcp-inquiry.ts`), or undefined
   * when this transport answers none.
   */
  readonly answerInquiry: ((inquirer: string) => Uint8Array) | undefined;
  /** The secret an inquirer proves (default {@link ConnectionContext.secret}). */
  readonly inquirySecret: Uint8Array | undefined;
  /** Acceptor only: an inquiry was answered; the connection closes once the answer is written. */
  inquiryAnswered(connection: TcpConnection, inquirer: string): void;
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
  /** An authenticated connection received a record that failed authentication. */
  integrityFailure(connection: TcpConnection, detail: string): void;
  closed(connection: TcpConnection, reason: string): void;
}

type Phase =
  | 'connecting'
  | 'awaiting-hello'
  | 'awaiting-challenge'
  | 'awaiting-proof'
  | 'awaiting-welcome'
  | 'answered'
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
  /** Reads the plain handshake frames; hands the bytes after the last one to {@link opener}. */
  private readonly handshakeDecoder: FrameDecoder;
  /** Reads the frames inside authenticated records, once open. */
  private decoder: FrameDecoder | undefined;
  private opener: RecordOpener | undefined;
  private sealer: RecordSealer | undefined;
  /** True once the acceptor has read a well-formed hello (it is not an idle socket). */
  private helloReceived = false;
  private readonly batch = new FrameBatch();
  private channel: PeerChannel | undefined;
  private handshakeTimer: unknown;
  private flushScheduled: ReturnType<typeof setImmediate> | undefined;
  private awaitingDrain = false;
  /** Set by {@link TcpConnection.end}: nothing more is written, but reading goes on. */
  private ending = false;
  private hello: Hello | undefined;
  private transcript: Transcript | undefined;
  /** Acceptor: the caller asked a one-shot inquiry rather than opening a peer connection. */
  private inquiry = false;
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
    this.handshakeDecoder = new FrameDecoder(
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

  /** Acceptor: true once the caller sent a well-formed hello; idle sockets are evicted first. */
  get startedHandshake(): boolean {
    return this.helloReceived;
  }

  /** The remote IP address, when the socket still has one. */
  get remoteAddress(): string | undefined {
    return this.socket.remoteAddress;
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
    this.handshakeDecoder.stop();
    this.decoder?.stop();
    this.opener?.stop();
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
      if (this.opener !== undefined) {
        this.openRecords(this.opener, chunk);
        return;
      }
      this.handshakeDecoder.push(chunk);
      // The handshake may have ended inside this chunk: what follows it is sealed records.
      const opener = this.opener as RecordOpener | undefined;
      if (opener !== undefined) {
        for (const rest of this.handshakeDecoder.takeRemainder()) this.openRecords(opener, rest);
      }
    } catch (error) {
      this.onProtocolError(error);
    }
  }

  /** Feeds record bytes to `opener`, counting the records it authenticated (even if it throws). */
  private openRecords(opener: RecordOpener, bytes: Buffer): void {
    const before = opener.openedRecords;
    try {
      opener.push(bytes);
    } finally {
      this.context.counters.recordsIn += opener.openedRecords - before;
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
    if (error instanceof IntegrityError) {
      this.context.counters.integrityFailures += 1;
      this.context.logger.warn(
        { peer: this.peer, error: message },
        'peer record failed authentication; closing connection',
      );
      this.context.integrityFailure(this, message);
      this.destroy(`integrity failure: ${message}`);
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
        if (type === ControlType.inquiry) return this.onInquiry(decodeHello(payload));
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

  /**
   * Acceptor: check who is calling and answer with our nonce. Nothing here depends on the secret:
   * the caller must prove itself first, so a stranger gets nothing to test guesses against.
   */
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
    this.helloReceived = true;
    const challenge = {
      acceptorId: context.nodeId,
      acceptorNonce: context.randomBytes(NONCE_BYTES),
      acceptorIncarnation: context.incarnation,
    };
    this.transcript = transcriptOf(hello, challenge);
    this.phase = 'awaiting-proof';
    this.writeControl(ControlType.challenge, encodeChallenge(challenge));
  }

  /**
   * Acceptor: a caller that is not a peer yet (it knows neither the cluster id nor our id) asks
   * the one question this transport answers; it gets a challenge like any dialer and must prove
   * the secret before it is answered. Its hello carries empty cluster and acceptor ids, so its
   * proof can never pass for a peer's.
   */
  private onInquiry(hello: Hello): void {
    if (this.context.answerInquiry === undefined) {
      throw new HandshakeError('unknown-node', 'inquiries are not answered here');
    }
    if (hello.clusterId !== '' || hello.acceptorId !== '') {
      throw new HandshakeError('malformed', 'an inquiry names no cluster and no acceptor');
    }
    this.inquiry = true;
    this.helloReceived = true;
    const challenge = {
      acceptorId: this.context.nodeId,
      acceptorNonce: this.context.randomBytes(NONCE_BYTES),
      acceptorIncarnation: this.context.incarnation,
    };
    this.transcript = transcriptOf(hello, challenge);
    this.phase = 'awaiting-proof';
    this.writeControl(ControlType.challenge, encodeChallenge(challenge));
  }

  /** Acceptor: the inquirer proved the secret; answer once, MAC'd, and close. */
  private answer(proof: Proof): void {
    const transcript = this.transcript!;
    const secret = this.context.inquirySecret ?? this.context.secret;
    checkProof(secret, 'inquirer', transcript, proof, `inquirer ${transcript.dialerId}`);
    const answer = this.context.answerInquiry!(transcript.dialerId);
    if (this.handshakeTimer !== undefined) this.context.timers.clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
    this.phase = 'answered';
    this.handshakeDecoder.stop();
    this.writeControl(
      ControlType.answer,
      Buffer.concat([computeAnswerProof(secret, transcript, answer), answer]),
    );
    this.context.inquiryAnswered(this, transcript.dialerId);
    // The answer is flushed before the FIN; the socket's 'close' then destroys the connection,
    // or, if the inquirer keeps its side open, this timer does.
    this.handshakeTimer = this.context.timers.setTimeout(() => {
      this.handshakeTimer = undefined;
      this.destroy('inquiry answered');
    }, this.context.handshakeTimeoutMs);
    this.socket.end();
  }

  /**
   * Dialer: prove we know the secret, over the whole transcript and the progress we report. The
   * progress is only peeked at: the acceptor is not authenticated yet, so it must not reset our
   * record of its stream.
   */
  private onChallenge(payload: Buffer): void {
    const challenge = decodeChallenge(payload);
    const hello = this.hello!;
    if (challenge.acceptorId !== hello.acceptorId) {
      throw new HandshakeError(
        'wrong-peer',
        `expected ${hello.acceptorId}, reached ${challenge.acceptorId}`,
      );
    }
    const transcript = transcriptOf(hello, challenge);
    this.transcript = transcript;
    const progress = this.context
      .channel(hello.acceptorId)
      .peekReceiveProgress(hex(challenge.acceptorIncarnation));
    this.phase = 'awaiting-welcome';
    this.writeControl(
      ControlType.proof,
      encodeProof({
        proof: computeProof(this.context.secret, 'dialer', transcript, progress),
        ...progress,
      }),
    );
  }

  /** Acceptor: the dialer proved it knows the secret; prove we do too, and open. */
  private onProof(payload: Buffer): void {
    const proof = decodeProof(payload);
    if (this.inquiry) {
      this.answer(proof);
      return;
    }
    const transcript = this.transcript!;
    checkProof(this.context.secret, 'dialer', transcript, proof, transcript.dialerId);
    const peer = transcript.dialerId;
    const peerIncarnation = hex(transcript.dialerIncarnation);
    this.context.retireConnection(peer);
    const progress = this.context.channel(peer).receiveProgress(peerIncarnation);
    this.writeControl(
      ControlType.welcome,
      encodeProof({
        proof: computeProof(this.context.secret, 'acceptor', transcript, progress),
        ...progress,
      }),
    );
    this.open(peer, peerIncarnation, proof);
  }

  /** Dialer: the acceptor proved it knows the secret; the connection is authenticated. */
  private onWelcome(payload: Buffer): void {
    const welcome = decodeProof(payload);
    const transcript = this.transcript!;
    checkProof(this.context.secret, 'acceptor', transcript, welcome, transcript.acceptorId);
    const peerIncarnation = hex(transcript.acceptorIncarnation);
    this.context.channel(transcript.acceptorId).receiveProgress(peerIncarnation);
    this.open(transcript.acceptorId, peerIncarnation, welcome);
  }

  private open(peer: string, peerIncarnation: string, remote: ReceiveProgress): void {
    if (this.handshakeTimer !== undefined) this.context.timers.clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
    this.phase = 'open';
    const keys = deriveSessionKeys(this.context.secret, this.transcript!);
    const dialer = this.role === 'dialer';
    this.sealer = new RecordSealer(dialer ? keys.dialerToAcceptor : keys.acceptorToDialer);
    const decoder = new FrameDecoder(this.context.maxFrameBytes, (flags, type, correlation, body) =>
      this.onFrame(flags, type, correlation, body),
    );
    this.decoder = decoder;
    this.opener = new RecordOpener(
      dialer ? keys.acceptorToDialer : keys.dialerToAcceptor,
      (plain) => decoder.push(plain),
    );
    this.handshakeDecoder.handOff();
    this.channel = this.context.channel(peer);
    this.context.authenticated(this, peer, peerIncarnation, remote);
  }

  /** Refuses a connection still in its handshake (e.g. evicted by admission control). */
  refuse(reason: HandshakeRejection, detail: string): void {
    this.reject(reason, detail);
  }

  private reject(reason: HandshakeRejection, detail: string): void {
    if (this.phase === 'closed' || this.phase === 'open' || this.phase === 'answered') return;
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

  /**
   * Seals chunks into records and writes each record as soon as it is sealed, so the peer opens
   * one record while the next is sealed; returns what `socket.write` said about backpressure. A
   * batch of small frames is one record in one buffer: one `socket.write`, one `write` system
   * call. Only the pieces of a large record are gathered under a cork.
   */
  private writeChunks(plain: Buffer[], frames: number): boolean {
    const counters = this.context.counters;
    counters.framesOut += frames;
    let ok = true;
    try {
      this.sealer!.sealEach(plain, (record) => {
        counters.recordsOut += 1;
        counters.socketWrites += 1;
        if (record.length === 1) {
          const only = record[0]!;
          counters.bytesOut += only.length;
          ok = this.socket.write(only);
          return;
        }
        this.socket.cork();
        for (const piece of record) {
          counters.bytesOut += piece.length;
          ok = this.socket.write(piece);
        }
        this.socket.uncork();
      });
    } catch (error) {
      this.destroy(`cannot seal: ${(error as Error).message}`);
      return false;
    }
    return ok;
  }

  private writeControl(type: number, payload: Buffer): void {
    const frame = encodeControlFrame(type, payload);
    this.context.counters.framesOut += 1;
    this.context.counters.bytesOut += frame.length;
    this.context.counters.socketWrites += 1;
    this.socket.write(frame);
  }

  private cancelFlush(): void {
    if (this.flushScheduled !== undefined) clearImmediate(this.flushScheduled);
    this.flushScheduled = undefined;
  }
}

/**
 * Throws unless `proof` is what a holder of `secret` computes as `role` over `transcript` and the
 * progress it reports (compared in constant time).
 *
 * @throws {@link HandshakeError} (`bad-proof`) naming `who`
 */
function checkProof(
  secret: Uint8Array,
  role: HandshakeRole,
  transcript: Transcript,
  proof: Proof,
  who: string,
): void {
  if (!proofMatches(computeProof(secret, role, transcript, proof), proof.proof)) {
    throw new HandshakeError('bad-proof', `${who} does not know the cluster secret`);
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
