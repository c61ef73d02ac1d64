/**
 * etcd's `v3lockpb.Lock` service: Lock(name, lease) waits until the caller holds the named lock
 * and answers the key that stands for it (`<name>/<lease in hex>`, deleted by Unlock or when the
 * lease ends); Unlock(key) deletes it, so the next contender in line goes on. The algorithm is
 * etcd's `concurrency.Mutex` run on the server (`contention.ts`).
 */

import type { ServerUnaryCall, UntypedServiceImplementation, handleUnaryCall } from '@grpc/grpc-js';
import type { ApiContext } from '../http/api-context.js';
import type { JsonBody } from '../http/etcd-json.js';
import type { ContentionContext } from './contention.js';
import {
  contenderKey,
  enterLine,
  leaveLine,
  recipeStatus,
  requiredLease,
  toBase64,
  waitForTurn,
} from './contention.js';
import { credentialsOf, statusOf } from './grpc-call.js';
import type { KvMethods } from './kv-service.js';

/** The contention context of one call: its credentials, and whether it was cancelled. */
export function contentionOf(
  context: ApiContext,
  kv: KvMethods,
  call: Pick<ServerUnaryCall<unknown, unknown>, 'metadata' | 'getAuthContext' | 'on' | 'off'>,
): ContentionContext {
  let cancelled = false;
  const listeners = new Set<() => void>();
  call.on('cancelled', () => {
    cancelled = true;
    for (const listener of listeners) listener();
  });
  return {
    context,
    kv,
    credentials: credentialsOf(call),
    cancelled: () => cancelled,
    onCancel: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** A unary handler whose method sees the call's contention context. */
export function contending(
  context: ApiContext,
  kv: KvMethods,
  method: (request: unknown, contention: ContentionContext) => Promise<JsonBody>,
): handleUnaryCall<unknown, JsonBody> {
  return (call, callback) => {
    const contention = contentionOf(context, kv, call);
    method(call.request, contention).then(
      (response) => callback(null, response),
      (error: unknown) => callback(statusOf(context, recipeStatus(error), call.getPath())),
    );
  };
}

/**
 * Lock: enters the line for `name` under `lease` and answers once first in it. A caller that
 * cancels while waiting leaves the line (its key is deleted), as etcd's mutex does. Shared by
 * the gRPC service and the JSON gateway's `/v3/lock/lock` (requests in proto-loader's shapes).
 */
export async function lock(request: unknown, contention: ContentionContext): Promise<JsonBody> {
  const { name, lease } = request as { name?: string; lease?: unknown };
  const held = requiredLease(lease, 'Lock');
  const key = contenderKey(name ?? '', held);
  const contender = await enterLine(contention, key, held, '');
  try {
    const header = await waitForTurn(contention, name ?? '', contender);
    return { header, key: toBase64(key) };
  } catch (error) {
    if (contention.cancelled()) await leaveLine(contention, key).catch(() => undefined);
    throw error;
  }
}

/** Unlock: deletes the key that Lock answered, so the next contender in line goes on. */
export async function unlock(request: unknown, contention: ContentionContext): Promise<JsonBody> {
  const { key } = request as { key?: string };
  const header = await leaveLine(contention, Buffer.from(key ?? '', 'base64').toString('latin1'));
  return { header };
}

/** The handlers of `v3lockpb.Lock`. */
export function lockService(context: ApiContext, kv: KvMethods): UntypedServiceImplementation {
  return {
    Lock: contending(context, kv, lock),
    Unlock: contending(context, kv, unlock),
  };
}
