import { createHash, hkdfSync } from 'node:crypto';
import { encodeTranscript, type Transcript } from './handshake.js';
import { RECORD_KEY_BYTES } from './record.js';

/** The record keys of one connection, one per direction. */
export interface SessionKeys {
  /** Seals what the dialer sends and opens what the acceptor receives. */
  dialerToAcceptor: Buffer;
  /** Seals what the acceptor sends and opens what the dialer receives. */
  acceptorToDialer: Buffer;
}

/**
 * Derives the connection's record keys with HKDF-SHA256 from the shared secret, salted with both
 * handshake nonces and bound to the whole transcript (ids, cluster, incarnations). Fresh nonces on
 * every connection make the keys unique per connection, so record sequence numbers may restart at
 * 0; distinct keys per direction keep one side's records from being reflected back as the other's.
 */
export function deriveSessionKeys(secret: Uint8Array, transcript: Transcript): SessionKeys {
  const salt = Buffer.concat([transcript.dialerNonce, transcript.acceptorNonce]);
  const transcriptHash = createHash('sha256').update(encodeTranscript(transcript)).digest();
  const info = Buffer.concat([
    Buffer.from('x-transport-tcp/2 record keys', 'utf8'),
    transcriptHash,
  ]);
  const keys = Buffer.from(hkdfSync('sha256', secret, salt, info, 2 * RECORD_KEY_BYTES));
  return {
    dialerToAcceptor: keys.subarray(0, RECORD_KEY_BYTES),
    acceptorToDialer: keys.subarray(RECORD_KEY_BYTES),
  };
}
