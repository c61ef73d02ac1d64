import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from './errors.js';
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
  proofMatches,
} from './handshake.js';

const hello = {
  clusterId: 'cluster',
  dialerId: 'node-1',
  acceptorId: 'node-2',
  dialerNonce: randomBytes(32),
  dialerIncarnation: randomBytes(8),
};

describe('handshake messages', () => {
  it('round-trip', () => {
    expect(decodeHello(encodeHello(hello))).toEqual({
      ...hello,
      dialerNonce: Uint8Array.from(hello.dialerNonce),
      dialerIncarnation: Uint8Array.from(hello.dialerIncarnation),
    });
    const challenge = {
      acceptorId: 'node-2',
      acceptorNonce: Uint8Array.from(randomBytes(32)),
      acceptorIncarnation: Uint8Array.from(randomBytes(8)),
      proof: Uint8Array.from(randomBytes(32)),
    };
    expect(decodeChallenge(encodeChallenge(challenge))).toEqual(challenge);
    const proof = {
      proof: Uint8Array.from(randomBytes(32)),
      knowsYou: true,
      lastSequence: 0xfffffffe,
    };
    expect(decodeProof(encodeProof(proof))).toEqual(proof);
    expect(decodeWelcome(encodeWelcome({ knowsYou: false, lastSequence: 7 }))).toEqual({
      knowsYou: false,
      lastSequence: 7,
    });
  });

  it('reject truncated, padded and malformed input with ProtocolError', () => {
    const encoded = encodeHello(hello);
    for (let length = 0; length < encoded.length; length += 1) {
      expect(() => decodeHello(encoded.subarray(0, length))).toThrow(ProtocolError);
    }
    expect(() => decodeHello(Buffer.concat([encoded, Buffer.of(0)]))).toThrow(ProtocolError);
    const welcome = encodeWelcome({ knowsYou: true, lastSequence: 1 });
    welcome[0] = 7;
    expect(() => decodeWelcome(welcome)).toThrow(ProtocolError);
  });
});

describe('proofs', () => {
  const secret = Buffer.from('secret');
  const acceptorNonce = randomBytes(32);

  it('differ by role, secret, nonce and ids, so none can be replayed or reflected', () => {
    const dialer = computeProof(secret, 'dialer', hello, acceptorNonce);
    expect(proofMatches(dialer, computeProof(secret, 'dialer', hello, acceptorNonce))).toBe(true);
    expect(proofMatches(dialer, computeProof(secret, 'acceptor', hello, acceptorNonce))).toBe(
      false,
    );
    expect(
      proofMatches(dialer, computeProof(Buffer.from('other'), 'dialer', hello, acceptorNonce)),
    ).toBe(false);
    expect(proofMatches(dialer, computeProof(secret, 'dialer', hello, randomBytes(32)))).toBe(
      false,
    );
    expect(
      proofMatches(
        dialer,
        computeProof(secret, 'dialer', { ...hello, dialerId: 'node-3' }, acceptorNonce),
      ),
    ).toBe(false);
    expect(proofMatches(dialer, dialer.subarray(0, 16))).toBe(false);
  });
});
