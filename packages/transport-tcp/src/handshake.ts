import { createHmac, timingSafeEqual } from 'node:crypto';
import { ProtocolError } from './errors.js';

/** Bytes in a handshake nonce. */
export const NONCE_BYTES = 32;
/** Bytes in an incarnation id (random per transport instance, so a restarted peer is recognised). */
export const INCARNATION_BYTES = 8;
/** Bytes in an HMAC-SHA256 proof. */
export const PROOF_BYTES = 32;
/** Largest handshake frame payload accepted before the peer is authenticated. */
export const MAX_HANDSHAKE_PAYLOAD_BYTES = 1024;

/** Dialer → acceptor: who I am, whom I expect, and my challenge. */
export interface Hello {
  clusterId: string;
  dialerId: string;
  acceptorId: string;
  dialerNonce: Uint8Array;
  dialerIncarnation: Uint8Array;
}

/** How far the sender of a handshake message got in the one-way stream from the other side. */
export interface ReceiveProgress {
  /** False when this side has no record of the other side's current incarnation. */
  knowsYou: boolean;
  /** The last one-way sequence number received from the other side (low 32 bits). */
  lastSequence: number;
}

/** Acceptor → dialer: my identity, my challenge and my proof of the secret. */
export interface Challenge {
  acceptorId: string;
  acceptorNonce: Uint8Array;
  acceptorIncarnation: Uint8Array;
  proof: Uint8Array;
}

/** Dialer → acceptor: my proof of the secret. */
export interface Proof extends ReceiveProgress {
  proof: Uint8Array;
}

/** Which side computes a proof; part of the MAC input so one side's proof never passes as the other's. */
export type HandshakeRole = 'dialer' | 'acceptor';

/**
 * The HMAC-SHA256 proof that `role` knows the shared secret, bound to both ids, the cluster and
 * both nonces, so it cannot be replayed on another connection or reflected back.
 */
export function computeProof(
  secret: Uint8Array,
  role: HandshakeRole,
  hello: Pick<Hello, 'clusterId' | 'dialerId' | 'acceptorId' | 'dialerNonce'>,
  acceptorNonce: Uint8Array,
): Uint8Array {
  const writer = new FieldWriter();
  writer.string(`x-transport-tcp/1 ${role}`);
  writer.string(hello.clusterId);
  writer.string(hello.dialerId);
  writer.string(hello.acceptorId);
  writer.bytes(hello.dialerNonce);
  writer.bytes(acceptorNonce);
  return createHmac('sha256', secret).update(writer.finish()).digest();
}

/** Constant-time comparison of a received proof with the expected one. */
export function proofMatches(expected: Uint8Array, received: Uint8Array): boolean {
  return expected.length === received.length && timingSafeEqual(expected, received);
}

/** Encodes a {@link Hello}. */
export function encodeHello(hello: Hello): Buffer {
  const writer = new FieldWriter();
  writer.string(hello.clusterId);
  writer.string(hello.dialerId);
  writer.string(hello.acceptorId);
  writer.bytes(hello.dialerNonce);
  writer.bytes(hello.dialerIncarnation);
  return writer.finish();
}

/** Decodes a {@link Hello}; throws {@link ProtocolError} on malformed input. */
export function decodeHello(payload: Buffer): Hello {
  const reader = new FieldReader(payload);
  const hello: Hello = {
    clusterId: reader.string(),
    dialerId: reader.string(),
    acceptorId: reader.string(),
    dialerNonce: reader.bytes(NONCE_BYTES),
    dialerIncarnation: reader.bytes(INCARNATION_BYTES),
  };
  reader.end();
  return hello;
}

/** Encodes a {@link Challenge}. */
export function encodeChallenge(challenge: Challenge): Buffer {
  const writer = new FieldWriter();
  writer.string(challenge.acceptorId);
  writer.bytes(challenge.acceptorNonce);
  writer.bytes(challenge.acceptorIncarnation);
  writer.bytes(challenge.proof);
  return writer.finish();
}

/** Decodes a {@link Challenge}; throws {@link ProtocolError} on malformed input. */
export function decodeChallenge(payload: Buffer): Challenge {
  const reader = new FieldReader(payload);
  const challenge: Challenge = {
    acceptorId: reader.string(),
    acceptorNonce: reader.bytes(NONCE_BYTES),
    acceptorIncarnation: reader.bytes(INCARNATION_BYTES),
    proof: reader.bytes(PROOF_BYTES),
  };
  reader.end();
  return challenge;
}

/** Encodes a {@link Proof}. */
export function encodeProof(proof: Proof): Buffer {
  const writer = new FieldWriter();
  writer.bytes(proof.proof);
  writer.progress(proof);
  return writer.finish();
}

/** Decodes a {@link Proof}; throws {@link ProtocolError} on malformed input. */
export function decodeProof(payload: Buffer): Proof {
  const reader = new FieldReader(payload);
  const proof: Proof = { proof: reader.bytes(PROOF_BYTES), ...reader.progress() };
  reader.end();
  return proof;
}

/**
 * Encodes the acceptor's final handshake message, sent once the dialer's proof checked out. It
 * carries the acceptor's receive progress only now, after any older connection from the same peer
 * has been closed, so the progress cannot be overtaken by frames still arriving on that connection.
 */
export function encodeWelcome(progress: ReceiveProgress): Buffer {
  const writer = new FieldWriter();
  writer.progress(progress);
  return writer.finish();
}

/** Decodes the acceptor's welcome; throws {@link ProtocolError} on malformed input. */
export function decodeWelcome(payload: Buffer): ReceiveProgress {
  const reader = new FieldReader(payload);
  const progress = reader.progress();
  reader.end();
  return progress;
}

class FieldWriter {
  private readonly parts: Buffer[] = [];

  string(value: string): void {
    const bytes = Buffer.from(value, 'utf8');
    if (bytes.length > 255) throw new RangeError(`handshake field longer than 255 bytes: ${value}`);
    this.parts.push(Buffer.of(bytes.length), bytes);
  }

  bytes(value: Uint8Array): void {
    this.parts.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
  }

  progress(progress: ReceiveProgress): void {
    const field = Buffer.allocUnsafe(5);
    field[0] = progress.knowsYou ? 1 : 0;
    field.writeUInt32BE(progress.lastSequence >>> 0, 1);
    this.parts.push(field);
  }

  finish(): Buffer {
    return Buffer.concat(this.parts);
  }
}

class FieldReader {
  private offset = 0;

  constructor(private readonly source: Buffer) {}

  string(): string {
    const length = this.take(1)[0]!;
    return this.take(length).toString('utf8');
  }

  bytes(length: number): Uint8Array {
    return new Uint8Array(this.take(length));
  }

  progress(): ReceiveProgress {
    const field = this.take(5);
    if (field[0]! > 1) throw new ProtocolError('malformed handshake: bad flag byte');
    return { knowsYou: field[0] === 1, lastSequence: field.readUInt32BE(1) };
  }

  end(): void {
    if (this.offset !== this.source.length) {
      throw new ProtocolError('malformed handshake: trailing bytes');
    }
  }

  private take(length: number): Buffer {
    if (this.offset + length > this.source.length) {
      throw new ProtocolError('malformed handshake: truncated');
    }
    const field = this.source.subarray(this.offset, this.offset + length);
    this.offset += length;
    return field;
  }
}
