import { randomBytes } from 'node:crypto';
import type { Random } from './ports.js';

/** Unseeded uniform random numbers in [0, 1) from `Math.random()`; fine for backoff jitter. */
export const nodeRandom: Random = {
  next: () => Math.random(),
};

/**
 * Cryptographically strong random bytes (`crypto.randomBytes`), used for handshake nonces and
 * incarnation ids. Kept in an adapter file so tests can substitute a deterministic source.
 *
 * @param length - number of bytes
 */
export function secureRandomBytes(length: number): Uint8Array {
  return randomBytes(length);
}
