/** The etcd v3 JSON gateway routes (POST, bodies and responses in etcd 3.4's gateway shapes). */

import { asUser } from '../auth/auth-gate.js';
import { deleteRangeNeeds, putNeeds, rangeNeeds, txnNeeds } from '../auth/request-permissions.js';
import type { ApiContext } from './api-context.js';
import { revisionErrorsAsApiErrors } from './revision-api-errors.js';
import {
  decodeDeleteRange,
  decodePut,
  decodeRange,
  decodeTxn,
  deleteRangeResponseJson,
  isReadOnlyTxn,
  rangeResponseJson,
  rangeResponseParts,
  txnResponseJson,
} from './etcd-json.js';
import type { DecodedRange, HeaderSource } from './etcd-json.js';
import { memberListResponseJson } from './cluster-routes.js';
import type { RangeView } from '../store/kv-types.js';
import type { Exchange } from './exchange.js';
import { idempotencyKey, readBarrier, replicateWrite } from './kv-operations.js';
import { jsonBodySlices } from './json-body-slices.js';
import { responseHeaderSource } from './response-header-source.js';
import { putResponseText } from './response-header-text.js';
import { sliceOptions } from './range-slicing.js';
import { rangeViewWithLeases, txnResultWithLeases } from '../lease/lease-views.js';

function headerSource(context: ApiContext): HeaderSource {
  return responseHeaderSource(context.backend);
}

function withRequestId<T extends object>(
  command: T,
  requestId: string | undefined,
): T & { requestId?: string } {
  return requestId === undefined ? command : { ...command, requestId };
}

/**
 * The answer to a decoded range from the local store (the caller has taken the read barrier and
 * checked permissions): shared by the JSON gateway and the gRPC KV service.
 *
 * @throws ApiError OUT_OF_RANGE for a future or a compacted revision.
 */
export function rangeViewOf(context: ApiContext, decoded: DecodedRange): RangeView {
  const store = context.backend.store;
  // The view is taken in this one synchronous turn, at one revision: references to the stored
  // keys and packed entries (immutable strings), copied a leaf at a time, so writes applied while
  // it streams cannot change it. Key-values are then materialized and encoded a slice at a time.
  return rangeViewWithLeases(
    revisionErrorsAsApiErrors(() => store.rangeView(decoded.request, decoded.revision)),
    context.backend.leases,
  );
}

/** POST /v3/kv/range */
export async function v3Range(context: ApiContext, exchange: Exchange): Promise<void> {
  const decoded = decodeRange(
    await exchange.readJson(context.limits.maxRequestBytes),
    context.limits,
  );
  if (!decoded.serializable) await readBarrier(context);
  context.auth.authorize(context.backend.auth, exchange, () => rangeNeeds(decoded.request));
  const view = rangeViewOf(context, decoded);
  const parts = rangeResponseParts(headerSource(context), view);
  if (parts === undefined) {
    exchange.json(
      200,
      rangeResponseJson(headerSource(context), {
        kvs: [],
        more: view.more,
        count: view.count,
        revision: view.revision,
      }),
    );
    return;
  }
  await exchange.streamJson(200, jsonBodySlices(parts, sliceOptions(context, decoded.request)));
}

/** POST /v3/kv/put */
export async function v3Put(context: ApiContext, exchange: Exchange): Promise<void> {
  const requestId = idempotencyKey(exchange);
  const request = decodePut(
    await exchange.readJson(context.limits.maxRequestBytes),
    context.limits,
  );
  const user = context.auth.authorize(context.backend.auth, exchange, () => putNeeds(request));
  const result = await replicateWrite(
    context,
    exchange,
    withRequestId({ type: 'put' as const, request, ...asUser(user) }, requestId),
  );
  if (result.type !== 'put') throw new Error(`put answered with ${result.type}`);
  exchange.jsonText(200, putResponseText(headerSource(context), result.result));
}

/** POST /v3/kv/deleterange */
export async function v3DeleteRange(context: ApiContext, exchange: Exchange): Promise<void> {
  const requestId = idempotencyKey(exchange);
  const request = decodeDeleteRange(
    await exchange.readJson(context.limits.maxRequestBytes),
    context.limits,
  );
  const user = context.auth.authorize(context.backend.auth, exchange, () =>
    deleteRangeNeeds(request),
  );
  const result = await replicateWrite(
    context,
    exchange,
    withRequestId({ type: 'deleteRange' as const, request, ...asUser(user) }, requestId),
  );
  if (result.type !== 'deleteRange') throw new Error(`delete answered with ${result.type}`);
  exchange.json(200, deleteRangeResponseJson(headerSource(context), result.result));
}

/** POST /v3/kv/txn; read-only transactions take a read barrier instead of a log entry. */
export async function v3Txn(context: ApiContext, exchange: Exchange): Promise<void> {
  const requestId = idempotencyKey(exchange);
  const request = decodeTxn(
    await exchange.readJson(context.limits.maxRequestBytes),
    context.limits,
  );
  if (isReadOnlyTxn(request)) {
    await readBarrier(context);
    context.auth.authorize(context.backend.auth, exchange, () => txnNeeds(request));
    const result = revisionErrorsAsApiErrors(() => context.backend.store.txn(request));
    const answer = txnResultWithLeases(result, context.backend.leases);
    exchange.json(200, txnResponseJson(headerSource(context), answer));
    return;
  }
  const user = context.auth.authorize(context.backend.auth, exchange, () => txnNeeds(request));
  const result = await replicateWrite(
    context,
    exchange,
    withRequestId({ type: 'txn' as const, request, ...asUser(user) }, requestId),
  );
  if (result.type !== 'txn') throw new Error(`txn answered with ${result.type}`);
  const answer = txnResultWithLeases(result.result, context.backend.leases);
  exchange.json(200, txnResponseJson(headerSource(context), answer));
}

/** POST /v3/cluster/member/list */
export async function v3MemberList(context: ApiContext, exchange: Exchange): Promise<void> {
  await exchange.readJson(context.limits.maxRequestBytes);
  const status = context.backend.status();
  exchange.json(200, memberListResponseJson(context, status));
}
