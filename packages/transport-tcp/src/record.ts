/**
 * The sealed record: after the handshake every byte on the connection travels in records, each
 * an AES-256-GCM encryption of a run of ordinary frames (see `frame.ts`):
 *
 * ```
 *  0                  4                              4 + n               4 + n + 16
 * +------------------+------------------------------+--------------------+
 * | ciphertext length| ciphertext (n bytes)          | GCM tag (16 bytes) |
 * |   n (u32, AAD)   |                               |                    |
 * +------------------+------------------------------+--------------------+
 * ```
 *
 * The nonce is never sent: it is the record's sequence number on this connection and direction
 * (4 zero bytes, then the number as u64), counted by both sides. A replayed, reordered, dropped
 * or altered record therefore fails its tag, and the connection is closed before any of it is
 * delivered. Each direction of each connection has its own key (see `session-keys.ts`), so a
 * nonce never repeats under a key.
 */

/** Bytes in a record header (the ciphertext length, authenticated as associated data). */
export const RECORD_HEADER_BYTES = 4;

/** Bytes in a record's authentication tag. */
export const RECORD_TAG_BYTES = 16;

/** Bytes in a record key (AES-256). */
export const RECORD_KEY_BYTES = 32;

/**
 * The largest plaintext (and so ciphertext) of one record, checked from the header before
 * anything is allocated. A receiver holds at most one record it has not yet authenticated.
 */
export const MAX_RECORD_BYTES = 256 * 1024;

/**
 * Records sealed under one key before the connection must be replaced (a new handshake draws new
 * keys). Far below what AES-GCM allows with unique nonces; at 64 KiB a record it is 64 PiB.
 */
export const MAX_RECORDS_PER_KEY = 2 ** 40;

/** The AEAD: AES-256-GCM (hardware AES on x86-64 and ARMv8; see the README for the choice). */
export const RECORD_CIPHER = 'aes-256-gcm';

/** Bytes in a record nonce (the 96-bit GCM nonce). */
export const RECORD_NONCE_BYTES = 12;

/** The 96-bit GCM nonce of record `sequence`: 4 zero bytes, then the sequence as u64 big-endian. */
export function recordNonce(sequence: number): Buffer {
  const nonce = Buffer.alloc(RECORD_NONCE_BYTES);
  writeRecordNonce(nonce, sequence);
  return nonce;
}

/**
 * Writes the nonce of record `sequence` into `nonce` (12 bytes, reused record after record: the
 * cipher copies it when it is created, so one buffer per connection direction serves them all).
 */
export function writeRecordNonce(nonce: Buffer, sequence: number): void {
  nonce.writeUInt32BE(0, 0);
  nonce.writeUInt32BE(Math.floor(sequence / 2 ** 32), 4);
  nonce.writeUInt32BE(sequence >>> 0, 8);
}
