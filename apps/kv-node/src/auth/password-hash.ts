/**
 * Password hashing with scrypt from `node:crypto` (no new dependency; etcd uses bcrypt). The cost
 * is a power of two N (`--auth-scrypt-cost` is log2 N), with r = 8 and p = 1, so one hash needs
 * 128 * 8 * N bytes of memory: 16 MiB and tens of milliseconds at the default 14. The parameters
 * are stored with each hash, so changing the flag affects new passwords only.
 *
 * Encoding: `scrypt$<log2 N>$<salt, base64>$<hash, base64>`.
 */

import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/** Smallest accepted log2 N (tests; far too cheap for production). */
export const MIN_SCRYPT_COST = 4;
/** Largest accepted log2 N: 2^17 needs 128 MiB per hash, the most a member should spend. */
export const MAX_SCRYPT_COST = 17;
/** Default log2 N. */
export const DEFAULT_SCRYPT_COST = 14;

const BLOCK_SIZE = 8;
const PARALLELISM = 1;
const KEY_BYTES = 32;
const SALT_BYTES = 16;
const ENCODED = /^scrypt\$(\d{1,2})\$([A-Za-z0-9+/=]{1,64})\$([A-Za-z0-9+/=]{1,64})$/;

function derive(password: string, salt: Buffer, cost: number): Promise<Buffer> {
  const n = 2 ** cost;
  return new Promise((resolve, reject) => {
    scrypt(
      password.normalize('NFC'),
      salt,
      KEY_BYTES,
      // maxmem: Node's default (32 MiB) refuses costs above 14.
      { N: n, r: BLOCK_SIZE, p: PARALLELISM, maxmem: 129 * BLOCK_SIZE * n + (1 << 20) },
      (error, key) => (error === null ? resolve(key) : reject(error)),
    );
  });
}

/**
 * Hashes a password with a fresh random salt.
 *
 * @param cost log2 N, within [{@link MIN_SCRYPT_COST}, {@link MAX_SCRYPT_COST}].
 * @throws RangeError for a cost out of range.
 */
export async function hashPassword(password: string, cost: number): Promise<string> {
  if (!Number.isInteger(cost) || cost < MIN_SCRYPT_COST || cost > MAX_SCRYPT_COST) {
    throw new RangeError(`scrypt cost must be ${MIN_SCRYPT_COST}-${MAX_SCRYPT_COST}, got ${cost}`);
  }
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, cost);
  return `scrypt$${cost}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/**
 * Whether `password` matches `encoded` (constant-time comparison). A malformed or empty hash
 * (a user without password) never matches.
 */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const match = ENCODED.exec(encoded);
  if (match === null) return false;
  const cost = Number(match[1]);
  if (cost < MIN_SCRYPT_COST || cost > MAX_SCRYPT_COST) return false;
  const expected = Buffer.from(match[3] as string, 'base64');
  if (expected.length !== KEY_BYTES) return false;
  const key = await derive(password, Buffer.from(match[2] as string, 'base64'), cost);
  return timingSafeEqual(key, expected);
}
