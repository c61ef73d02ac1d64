/**
 * Auth tokens: opaque strings a member issues on authentication and any member accepts. They are
 * signed (HMAC-SHA256) with the key in the replicated auth state, so no token table has to be
 * replicated or survive restarts, and authenticating costs no log entry. A token names the user
 * and the user's stamp (its auth revision at creation or last password change) and expires
 * `ttl` after issue (wall clock; etcd's simple tokens slide instead). Deleting the user, changing
 * its password or disabling and re-enabling auth (a new key) invalidates its tokens.
 *
 * Layout: `<user, base64url>.<stamp>.<expiry ms>.<nonce>.<signature, base64url>`.
 */

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { bytesFromByteString } from '../store/byte-string.js';
import type { AuthState } from './auth-state.js';

/** Longest token accepted, in characters (a token for a 256-byte name is about 420). */
export const MAX_TOKEN_CHARS = 1024;

function sign(signingKey: string, payload: string): string {
  return createHmac('sha256', bytesFromByteString(signingKey)).update(payload).digest('base64url');
}

/**
 * Issues a token for `user` (which must exist) valid until `nowMs + ttlMs`.
 *
 * @throws Error if the user does not exist or auth has no signing key.
 */
export function issueToken(state: AuthState, user: string, nowMs: number, ttlMs: number): string {
  const record = state.user(user);
  if (record === undefined || state.signingKey === '') {
    throw new Error(`cannot issue a token for "${user}"`);
  }
  const payload = [
    Buffer.from(user, 'utf8').toString('base64url'),
    String(record.stamp),
    String(Math.floor(nowMs + ttlMs)),
    randomBytes(6).toString('base64url'),
  ].join('.');
  return `${payload}.${sign(state.signingKey, payload)}`;
}

/**
 * The user a token authenticates, or `undefined` when it is malformed, forged, expired, or its
 * user was deleted or changed password since.
 */
export function verifyToken(state: AuthState, token: string, nowMs: number): string | undefined {
  if (token.length > MAX_TOKEN_CHARS || state.signingKey === '') return undefined;
  const parts = token.split('.');
  if (parts.length !== 5) return undefined;
  const [userPart, stampPart, expiryPart, , signature] = parts as [
    string,
    string,
    string,
    string,
    string,
  ];
  const expected = Buffer.from(sign(state.signingKey, parts.slice(0, 4).join('.')));
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  if (!/^\d{1,16}$/.test(expiryPart) || Number(expiryPart) <= nowMs) return undefined;
  const user = Buffer.from(userPart, 'base64url').toString('utf8');
  const record = state.user(user);
  if (record === undefined || String(record.stamp) !== stampPart) return undefined;
  return user;
}
