/**
 * Where the HTTP API meets the auth state: who a request comes from (a token in the
 * `Authorization` header, raw as etcd's gateway takes it or as `Bearer <token>`; else, with
 * `--client-cert-auth`, the common name of the verified TLS client certificate, as etcd does),
 * whether it may touch the keys it names, password checks with throttling, and token issue.
 *
 * Checks read this member's replica of the auth state. Linearizable reads check after their read
 * barrier (so they see every change acknowledged before them). Writes are checked here first (a
 * fast refusal), then carry their user into the log, where every member checks them again on
 * apply (`apply-authorization.ts`), so a change of permissions in between cannot be outrun.
 */

import type { TLSSocket } from 'node:tls';
import { authError } from './auth-errors.js';
import type { AuthState } from './auth-state.js';
import { issueToken, verifyToken } from './auth-token.js';
import { FailureThrottle } from './failure-throttle.js';
import { DEFAULT_SCRYPT_COST, hashPassword, verifyPassword } from './password-hash.js';
import type { PermissionNeed } from './request-permissions.js';

/** Settings of an {@link AuthGate}. */
export interface AuthGateOptions {
  /** How long an issued token is valid, in ms (etcd's `--auth-token-ttl`, 300 s). */
  tokenTtlMs: number;
  /** log2 N of scrypt for new password hashes (`--auth-scrypt-cost`). */
  scryptCost: number;
  /** Whether a verified client certificate's CN names the user (`--client-cert-auth`). */
  clientCertAuth: boolean;
  /** Wall-clock milliseconds (token expiry must agree between members). */
  now: () => number;
  /** Most password hashes computed at once (each takes 128 * 8 * 2^cost bytes). Default 4. */
  maxConcurrentHashes?: number;
  /** Most requests waiting for a hash slot; more get "too many requests". Default 64. */
  maxQueuedHashes?: number;
}

/** Defaults: etcd's TTL, the default cost, no certificate identities, the system clock. */
export const DEFAULT_AUTH_GATE_OPTIONS: AuthGateOptions = {
  tokenTtlMs: 300_000,
  scryptCost: DEFAULT_SCRYPT_COST,
  clientCertAuth: false,
  now: () => Date.now(),
};

/**
 * A hash of a random password, checked when the user does not exist so that an unknown name
 * costs the same time as a wrong password (no user enumeration by timing).
 */
let decoyHash: Promise<string> | undefined;

/** The token in an `Authorization` header: `Bearer <token>` or the bare token. */
export function tokenFromHeader(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const trimmed = header.trim();
  if (trimmed === '') return undefined;
  return /^bearer\s+/i.test(trimmed) ? trimmed.replace(/^bearer\s+/i, '') : trimmed;
}

/** `{ user }` to spread into a command, or nothing while auth is disabled. */
export function asUser(user: string | undefined): { user?: string } {
  return user === undefined ? {} : { user };
}

/**
 * Where a request's credentials are read: an HTTP exchange, or a gRPC call seen through the same
 * shape (its `token` metadata as `authorization`, its TLS peer as the socket).
 */
export interface RequestCredentials {
  /** A request header by lower-case name. */
  header(name: string): string | undefined;
  /** The connection, for the verified client certificate of `--client-cert-auth`. */
  readonly request: { readonly socket: unknown };
}

/** See the file comment. */
export class AuthGate {
  readonly #options: AuthGateOptions;
  readonly #throttle = new FailureThrottle();
  readonly #maxConcurrentHashes: number;
  readonly #maxQueuedHashes: number;
  #hashesInFlight = 0;
  /** Requests waiting for a hash slot, first come first served. */
  readonly #queued: (() => void)[] = [];

  /** @param options see {@link AuthGateOptions}. */
  constructor(options: AuthGateOptions = DEFAULT_AUTH_GATE_OPTIONS) {
    this.#options = options;
    this.#maxConcurrentHashes = Math.max(1, options.maxConcurrentHashes ?? 4);
    this.#maxQueuedHashes = Math.max(0, options.maxQueuedHashes ?? 64);
  }

  /**
   * The user a request comes from when auth is enabled; `undefined` when auth is disabled.
   *
   * @throws ApiError "invalid auth token" (401) for a bad or expired token, "user name is
   *   empty" (400) when the request carries no credentials (etcd's messages).
   */
  identify(state: AuthState, exchange: RequestCredentials): string | undefined {
    if (!state.enabled) return undefined;
    const token = tokenFromHeader(exchange.header('authorization'));
    if (token !== undefined) {
      const user = verifyToken(state, token, this.#options.now());
      if (user === undefined) throw authError('invalidAuthToken');
      return user;
    }
    if (this.#options.clientCertAuth) {
      const socket = (exchange.request.socket ?? {}) as Partial<TLSSocket>;
      if (socket.authorized === true && typeof socket.getPeerCertificate === 'function') {
        const commonName = socket.getPeerCertificate().subject?.CN;
        const name = Array.isArray(commonName) ? commonName[0] : commonName;
        if (typeof name === 'string' && name !== '') return name;
      }
    }
    throw authError('userEmpty');
  }

  /**
   * Refuses the request unless auth is disabled or its user may do all of `needs()` (called only
   * when auth is enabled, so requests cost nothing extra without auth); returns the
   * user (`undefined` while auth is disabled), which a write carries into the log.
   *
   * @throws ApiError "permission denied" (403), or what {@link AuthGate.identify} throws.
   */
  authorize(
    state: AuthState,
    exchange: RequestCredentials,
    needs: () => readonly PermissionNeed[],
  ): string | undefined {
    const user = this.identify(state, exchange);
    if (user === undefined) return undefined;
    for (const need of needs()) {
      if (!state.isPermitted(user, need.access, need.key, need.rangeEnd)) {
        throw authError('permissionDenied');
      }
    }
    return user;
  }

  /**
   * Refuses the request unless auth is disabled or it comes from a root user (etcd's
   * `IsAdminPermitted`); `allow` is also let through (a user reading itself). Returns the
   * user (`undefined` while auth is disabled), which the write carries into the log.
   */
  authorizeAdmin(
    state: AuthState,
    exchange: RequestCredentials,
    allow?: (user: string) => boolean,
  ): string | undefined {
    const user = this.identify(state, exchange);
    if (user === undefined || state.isRoot(user) || allow?.(user) === true) return user;
    throw authError('permissionDenied');
  }

  /**
   * Checks a password and issues a token.
   *
   * @throws ApiError "authentication is not enabled" (412), "too many requests" (429) while
   *   the name is throttled or too many hashes run, "authentication failed, invalid user ID or
   *   password" (400).
   */
  async authenticate(state: AuthState, name: string, password: string): Promise<string> {
    if (!state.enabled) throw authError('authNotEnabled');
    const now = this.#options.now();
    if (this.#throttle.isBlocked(name, now)) throw authError('tooManyRequests');
    const user = state.user(name);
    let matches: boolean;
    if (user === undefined || user.noPassword || user.passwordHash === '') {
      decoyHash ??= hashPassword(String(Math.random()), this.#options.scryptCost);
      await this.#limited(async () =>
        verifyPassword(password, await (decoyHash as Promise<string>)),
      );
      matches = false;
    } else {
      matches = await this.#limited(() => verifyPassword(password, user.passwordHash));
    }
    // The state may have changed while hashing: check the user again.
    const current = state.user(name);
    if (!matches || current === undefined || current.passwordHash !== user?.passwordHash) {
      this.#throttle.failed(name, this.#options.now());
      throw authError('authFailed');
    }
    this.#throttle.succeeded(name);
    return issueToken(state, name, this.#options.now(), this.#options.tokenTtlMs);
  }

  /**
   * Hashes a new password (on the member that received it; only the hash is replicated).
   *
   * @throws ApiError "too many requests" (429) when too many hashes run at once.
   */
  hash(password: string): Promise<string> {
    return this.#limited(() => hashPassword(password, this.#options.scryptCost));
  }

  /** Runs `work` once fewer than the maximum hashes run; refuses when the queue is full. */
  async #limited<T>(work: () => Promise<T>): Promise<T> {
    if (this.#hashesInFlight >= this.#maxConcurrentHashes) {
      if (this.#queued.length >= this.#maxQueuedHashes) throw authError('tooManyRequests');
      // The slot is handed over by the finishing hash (the count does not drop in between).
      await new Promise<void>((resolve) => this.#queued.push(resolve));
    } else {
      this.#hashesInFlight++;
    }
    try {
      return await work();
    } finally {
      const next = this.#queued.shift();
      if (next === undefined) this.#hashesInFlight--;
      else next();
    }
  }
}
