import { createHmac, timingSafeEqual } from 'node:crypto';
import { ProtocolError } from './errors.js';

/**
 * The handshake protocol name and version, the first field of every MAC and key derivation. A
 * peer of another version fails at the frame header (`wrong-version`) before any of this runs.
 */
export const HANDSHAKE_PROTOCOL = 'x-transport-tcp/2';
/** Bytes in a handshake nonce. */
export const NONCE_BYTES = 32;
/** Bytes in an incarnation id (random per transport instance, so a restarted peer is recognised). */
export const INCARNATION_BYTES = 8;
/** Bytes in an HMAC-SHA256 proof. */
export const PROOF_BYTES = 32;
/** Largest handshake frame payload accepted before the peer is authenticated. */
export const MAX_HANDSHAKE_PAYLOAD_BYTES = 1024;

/** Dialer → acceptor: who I am, whom I expect, and my nonce. */
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

/**
 * Acceptor → dialer: my identity and my nonce. It carries no proof: the acceptor proves nothing
 * to a caller that has not yet proven itself, so a stranger gets nothing to test guesses against.
 */
export interface Challenge {
  acceptorId: string;
  acceptorNonce: Uint8Array;
  acceptorIncarnation: Uint8Array;
}

/** Dialer → acceptor (`Proof`) or acceptor → dialer (`Welcome`): a proof of the secret and progress. */
export interface Proof extends ReceiveProgress {
  proof: Uint8Array;
}

/** Everything both sides said before the proofs; every proof and every session key is bound to it. */
export interface Transcript {
  clusterId: string;
  dialerId: string;
  acceptorId: string;
  dialerNonce: Uint8Array;
  dialerIncarnation: Uint8Array;
  acceptorNonce: Uint8Array;
  acceptorIncarnation: Uint8Array;
}

/**
 * Which side computes a proof; part of the MAC input so one side's proof never passes as the
 * other's, and an inquiry's never as a connection's.
 */
export type HandshakeRole = 'dialer' | 'acceptor' | 'inquirer';

/**
 * The MAC the acceptor puts in front of its answer to an inquiry: HMAC-SHA256 with the secret
 * over the inquiry's transcript and the answer, so the inquirer knows a holder of the secret
 * answered this very inquiry and nothing was altered.
 */
export function computeAnswerProof(
  secret: Uint8Array,
  transcript: Transcript,
  answer: Uint8Array,
): Uint8Array {
  const writer = new FieldWriter();
  writer.string('answerer');
  writer.bytes(encodeTranscript(transcript));
  writer.bytes(answer);
  return createHmac('sha256', secret).update(writer.finish()).digest();
}

/** The transcript of a hello and the challenge that answered it. */
export function transcriptOf(hello: Hello, challenge: Challenge): Transcript {
  return {
    clusterId: hello.clusterId,
    dialerId: hello.dialerId,
    acceptorId: hello.acceptorId,
    dialerNonce: hello.dialerNonce,
    dialerIncarnation: hello.dialerIncarnation,
    acceptorNonce: challenge.acceptorNonce,
    acceptorIncarnation: challenge.acceptorIncarnation,
  };
}

/** The transcript as bytes, prefixed with the protocol name (input of the MACs and of HKDF). */
export function encodeTranscript(transcript: Transcript): Buffer {
  const writer = new FieldWriter();
  writer.string(HANDSHAKE_PROTOCOL);
  writer.string(transcript.clusterId);
  writer.string(transcript.dialerId);
  writer.string(transcript.acceptorId);
  writer.bytes(transcript.dialerNonce);
  writer.bytes(transcript.dialerIncarnation);
  writer.bytes(transcript.acceptorNonce);
  writer.bytes(transcript.acceptorIncarnation);
  return writer.finish();
}

/**
 * The HMAC-SHA256 proof that `role` knows the shared secret, bound to the whole transcript (both
 * ids, the cluster, both nonces and incarnations) and to the progress the same message carries,
 * so it cannot be replayed on another connection, reflected back, or have its progress rewritten.
 */
export function computeProof(
  secret: Uint8Array,
  role: HandshakeRole,
  transcript: Transcript,
  progress: ReceiveProgress,
): Uint8Array {
  const writer = new FieldWriter();
  writer.string(role);
  writer.bytes(encodeTranscript(transcript));
  writer.progress(progress);
  return createHmac('sha256', secret).update(writer.finish()).digest();
}

/** Constant-time comparison of a received proof with the expected one. */
export function proofMatches(expected: Uint8Array, received: Uint8Array): boolean {
  return expected.length === received.length && timingSafeEqual(expected, received);
}

/** Encodes a {@link Hello}. @throws RangeError for an id longer than 255 UTF-8 bytes */
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

/** Encodes a {@link Challenge}. @throws RangeError for an id longer than 255 UTF-8 bytes */
export function encodeChallenge(challenge: Challenge): Buffer {
  const writer = new FieldWriter();
  writer.string(challenge.acceptorId);
  writer.bytes(challenge.acceptorNonce);
  writer.bytes(challenge.acceptorIncarnation);
  return writer.finish();
}

/** Decodes a {@link Challenge}; throws {@link ProtocolError} on malformed input. */
export function decodeChallenge(payload: Buffer): Challenge {
  const reader = new FieldReader(payload);
  const challenge: Challenge = {
    acceptorId: reader.string(),
    acceptorNonce: reader.bytes(NONCE_BYTES),
    acceptorIncarnation: reader.bytes(INCARNATION_BYTES),
  };
  reader.end();
  return challenge;
}

/**
 * Encodes a {@link Proof}: the dialer's proof message, and also the acceptor's welcome, sent once
 * the dialer's proof checked out. The welcome carries the acceptor's receive progress only then,
 * after any older connection from the same peer has been closed, so the progress cannot be
 * overtaken by frames still arriving on that connection.
 */
export function encodeProof(proof: Proof): Buffer {
  const writer = new FieldWriter();
  writer.bytes(proof.proof);
  writer.progress(proof);
  return writer.finish();
}

/** Decodes a {@link Proof} (or a welcome); throws {@link ProtocolError} on malformed input. */
export function decodeProof(payload: Buffer): Proof {
  const reader = new FieldReader(payload);
  const proof: Proof = { proof: reader.bytes(PROOF_BYTES), ...reader.progress() };
  reader.end();
  return proof;
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
