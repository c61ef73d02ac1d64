import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from './errors.js';
import {
  computeProof,
  decodeChallenge,
  decodeHello,
  decodeProof,
  encodeChallenge,
  encodeHello,
  encodeProof,
  proofMatches,
  transcriptOf,
  type Transcript,
} from './handshake.js';
import { deriveSessionKeys } from './session-keys.js';

const hello = {
  clusterId: 'cluster',
  dialerId: 'node-1',
  acceptorId: 'node-2',
  dialerNonce: Uint8Array.from(randomBytes(32)),
  dialerIncarnation: Uint8Array.from(randomBytes(8)),
};
const challenge = {
  acceptorId: 'node-2',
  acceptorNonce: Uint8Array.from(randomBytes(32)),
  acceptorIncarnation: Uint8Array.from(randomBytes(8)),
};
const transcript = transcriptOf(hello, challenge);
const progress = { knowsYou: true, lastSequence: 41 };

describe('handshake messages', () => {
  it('round-trip', () => {
    expect(decodeHello(encodeHello(hello))).toEqual(hello);
    expect(decodeChallenge(encodeChallenge(challenge))).toEqual(challenge);
    const proof = {
      proof: Uint8Array.from(randomBytes(32)),
      knowsYou: true,
      lastSequence: 0xfffffffe,
    };
    expect(decodeProof(encodeProof(proof))).toEqual(proof);
  });

  it('the challenge carries nothing derived from the secret (the dialer proves first)', () => {
    expect(encodeChallenge(challenge)).toHaveLength(1 + 'node-2'.length + 32 + 8);
  });

  it('reject truncated, padded and malformed input with ProtocolError', () => {
    const encoded = encodeHello(hello);
    for (let length = 0; length < encoded.length; length += 1) {
      expect(() => decodeHello(encoded.subarray(0, length))).toThrow(ProtocolError);
    }
    expect(() => decodeHello(Buffer.concat([encoded, Buffer.of(0)]))).toThrow(ProtocolError);
    const proof = encodeProof({ proof: randomBytes(32), knowsYou: true, lastSequence: 1 });
    proof[32] = 7;
    expect(() => decodeProof(proof)).toThrow(ProtocolError);
  });
});

describe('proofs', () => {
  const secret = Buffer.from('secret');
  const dialer = computeProof(secret, 'dialer', transcript, progress);
  const variants: [string, Transcript][] = [
    ['dialer id', { ...transcript, dialerId: 'node-3' }],
    ['acceptor id', { ...transcript, acceptorId: 'node-3' }],
    ['cluster', { ...transcript, clusterId: 'other' }],
    ['dialer nonce', { ...transcript, dialerNonce: randomBytes(32) }],
    ['acceptor nonce', { ...transcript, acceptorNonce: randomBytes(32) }],
    ['dialer incarnation', { ...transcript, dialerIncarnation: randomBytes(8) }],
    ['acceptor incarnation', { ...transcript, acceptorIncarnation: randomBytes(8) }],
  ];

  it('differ by role, secret and progress, so none can be reflected or have its progress rewritten', () => {
    expect(proofMatches(dialer, computeProof(secret, 'dialer', transcript, progress))).toBe(true);
    expect(proofMatches(dialer, computeProof(secret, 'acceptor', transcript, progress))).toBe(
      false,
    );
    expect(
      proofMatches(dialer, computeProof(Buffer.from('other'), 'dialer', transcript, progress)),
    ).toBe(false);
    expect(
      proofMatches(
        dialer,
        computeProof(secret, 'dialer', transcript, { ...progress, lastSequence: 42 }),
      ),
    ).toBe(false);
    expect(proofMatches(dialer, dialer.subarray(0, 16))).toBe(false);
  });

  it.each(variants)('differ by %s, so none can be replayed on another connection', (_, other) => {
    expect(proofMatches(dialer, computeProof(secret, 'dialer', other, progress))).toBe(false);
  });

  it.each(variants)('session keys differ by %s', (_, other) => {
    const keys = deriveSessionKeys(secret, transcript);
    const otherKeys = deriveSessionKeys(secret, other);
    expect(keys.dialerToAcceptor.equals(otherKeys.dialerToAcceptor)).toBe(false);
    expect(keys.acceptorToDialer.equals(otherKeys.acceptorToDialer)).toBe(false);
  });

  it('session keys differ by direction and by secret, and are 32 bytes', () => {
    const keys = deriveSessionKeys(secret, transcript);
    expect(keys.dialerToAcceptor).toHaveLength(32);
    expect(keys.dialerToAcceptor.equals(keys.acceptorToDialer)).toBe(false);
    expect(
      deriveSessionKeys(Buffer.from('other'), transcript).dialerToAcceptor.equals(
        keys.dialerToAcceptor,
      ),
    ).toBe(false);
    expect(
      deriveSessionKeys(secret, transcript).dialerToAcceptor.equals(keys.dialerToAcceptor),
    ).toBe(true);
  });
});
