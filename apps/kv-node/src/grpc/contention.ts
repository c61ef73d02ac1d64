/**
 * Server-side contention for a named lock or election, as etcd's server does it with its
 * `concurrency` package (and as `recipes/lock.ts` does as a client): each contender creates
 * `<name>/<lease in hex>` once, attached to its lease (a txn on create revision 0); the revision
 * that created it is its place in line; it waits for the deletion of the key created just before
 * its own (never the whole prefix: no thundering herd), then for the next one, until none is left
 * before it. Every read and write goes through the KV service's methods with the caller's
 * credentials, so the same permission checks, replication and deadlines apply.
 */

import { status as GrpcStatus } from '@grpc/grpc-js';
import type { RequestCredentials } from '../auth/auth-gate.js';
import type { ApiContext } from '../http/api-context.js';
import type { JsonBody } from '../http/etcd-json.js';
import { ApiError } from '../http/api-error.js';
import { grpcError, grpcErrorOf } from './grpc-errors.js';
import type { KvMethods } from './kv-service.js';

const toBase64 = (bytes: string): string => Buffer.from(bytes, 'latin1').toString('base64');
const fromBase64 = (base64: string): string => Buffer.from(base64, 'base64').toString('latin1');

/** The first key after every key that starts with `prefix` (bytes as latin1). */
function prefixEnd(prefix: string): string {
  for (let index = prefix.length - 1; index >= 0; index--) {
    const code = prefix.charCodeAt(index);
    if (code < 0xff) return prefix.slice(0, index) + String.fromCharCode(code + 1);
  }
  return '\0';
}

/** A key-value as the gateway's shapes have it (base64 bytes, 64-bit integers as strings). */
export interface GatewayKv {
  key?: string;
  value?: string;
  create_revision?: string;
  mod_revision?: string;
  version?: string;
  lease?: string;
}

/** A contender's place: its key (bytes as latin1) and the revision that created it. */
export interface Contender {
  /** `<name>/<lease in hex>`, bytes as latin1. */
  key: string;
  /** The revision that created the key: the contender's place in line. */
  createRevision: number;
  /** The value the key holds now (base64). */
  value: string;
}

/** The caller went away (cancelled the call) while it waited. */
export class ContentionCancelledError extends Error {
  constructor() {
    super('the caller cancelled while waiting');
    this.name = 'ContentionCancelledError';
  }
}

/** What contending needs. */
export interface ContentionContext {
  context: ApiContext;
  kv: KvMethods;
  credentials: RequestCredentials;
  /** True once the caller has gone (its call was cancelled). */
  cancelled: () => boolean;
  /** Subscribes to the caller going away; returns the unsubscribe. */
  onCancel: (listener: () => void) => () => void;
}

/**
 * The status a lock or election call fails with: etcd runs these services over its own client,
 * so a refusal of one of their KV requests reaches the caller as UNKNOWN with etcd's message
 * ("etcdserver: requested lease not found"), not with the KV request's own code.
 */
export function recipeStatus(error: unknown): unknown {
  return error instanceof ApiError
    ? grpcError(GrpcStatus.UNKNOWN, grpcErrorOf(error).details)
    : error;
}

/** The lease of a request (an int64 as a decimal string), refused when absent or 0. */
export function requiredLease(lease: unknown, what: string): string {
  if (typeof lease !== 'string' || lease === '0' || !/^[0-9]+$/.test(lease)) {
    throw grpcError(
      GrpcStatus.INVALID_ARGUMENT,
      `etcdserver: ${what} needs the lease of the caller's session (kv-node grants none for it)`,
    );
  }
  return lease;
}

/** `<name>/<lease in hex>`, as etcd's concurrency package names a session's key. */
export function contenderKey(nameBase64: string, lease: string): string {
  return `${fromBase64(nameBase64)}/${BigInt(lease).toString(16)}`;
}

function firstKv(response: JsonBody, index: number): GatewayKv | undefined {
  const responses = response.responses as { response_range?: { kvs?: GatewayKv[] } }[];
  return responses[index]?.response_range?.kvs?.[0];
}

/**
 * Creates the contender's key with `value` under `lease` unless it exists (a second call with
 * the same lease is the same contender), and returns its place.
 */
export async function enterLine(
  contention: ContentionContext,
  key: string,
  lease: string,
  valueBase64: string,
): Promise<Contender> {
  const keyBase64 = toBase64(key);
  const response = await contention.kv.Txn(
    {
      compare: [{ target: 'CREATE', result: 'EQUAL', key: keyBase64, create_revision: '0' }],
      success: [{ request_put: { key: keyBase64, value: valueBase64, lease } }],
      failure: [{ request_range: { key: keyBase64 } }],
    },
    contention.credentials,
  );
  if (response.succeeded === true) {
    const header = response.header as { revision: string };
    return { key, createRevision: Number(header.revision), value: valueBase64 };
  }
  const existing = firstKv(response, 0);
  if (existing === undefined) throw new Error(`txn on ${key} failed, and the key is gone`);
  return { key, createRevision: Number(existing.create_revision), value: existing.value ?? '' };
}

/** Resolves once `key` is absent from the local store (or rejects if the caller goes). */
function deleted(contention: ContentionContext, key: string): Promise<void> {
  const store = contention.context.backend.store;
  return new Promise((resolve, reject) => {
    let stopListening: () => void = () => undefined;
    let stopCancel: () => void = () => undefined;
    const finish = (error?: Error): void => {
      stopListening();
      stopCancel();
      if (error === undefined) resolve();
      else reject(error);
    };
    stopListening = store.onChange(() => {
      if (store.stored(key) === undefined) finish();
    });
    stopCancel = contention.onCancel(() => finish(new ContentionCancelledError()));
    if (store.stored(key) === undefined) finish();
    else if (contention.cancelled()) finish(new ContentionCancelledError());
  });
}

/**
 * Waits until no key under `name/` was created before `contender`'s: each round reads
 * (linearizably) the last key created before it and waits for that one's deletion.
 *
 * @throws Error with etcd's "session expired" when the contender's own key vanished meanwhile
 *   (its lease ran out or was revoked).
 */
export async function waitForTurn(
  contention: ContentionContext,
  nameBase64: string,
  contender: Contender,
): Promise<JsonBody> {
  const prefix = `${fromBase64(nameBase64)}/`;
  for (;;) {
    if (contention.cancelled()) throw new ContentionCancelledError();
    const response = await contention.kv.Range(
      {
        key: toBase64(prefix),
        range_end: toBase64(prefixEnd(prefix)),
        sort_order: 'DESCEND',
        sort_target: 'CREATE',
        limit: '1',
        max_create_revision: String(contender.createRevision - 1),
      },
      contention.credentials,
    );
    const before = (response.kvs as GatewayKv[] | undefined)?.[0];
    if (before === undefined) break;
    await deleted(contention, fromBase64(before.key ?? ''));
  }
  const own = await contention.kv.Range({ key: toBase64(contender.key) }, contention.credentials);
  if ((own.kvs as GatewayKv[] | undefined)?.[0] === undefined) {
    throw grpcError(GrpcStatus.UNKNOWN, 'session: expired: the lease under the key ran out');
  }
  return own.header as JsonBody;
}

/** Deletes `key` (a contender leaving the line), with the caller's credentials. */
export async function leaveLine(contention: ContentionContext, key: string): Promise<JsonBody> {
  const response = await contention.kv.DeleteRange({ key: toBase64(key) }, contention.credentials);
  return response.header as JsonBody;
}

export { fromBase64, toBase64 };
