/**
 * etcd's KV service (Range, Put, DeleteRange, Txn, Compact) over gRPC: the same decoding, permission
 * checks, replication and encoding as the JSON gateway's `/v3/kv/*` routes (`http/v3-routes.ts`, `http/maintenance-routes.ts`).
 */

import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { asUser } from '../auth/auth-gate.js';
import { deleteRangeNeeds, putNeeds, rangeNeeds, txnNeeds } from '../auth/request-permissions.js';
import type { ApiContext } from '../http/api-context.js';
import {
  decodeDeleteRange,
  decodePut,
  decodeRange,
  decodeTxn,
  deleteRangeResponseJson,
  isReadOnlyTxn,
  putResponseJson,
  rangeResponseJson,
  txnResponseJson,
} from '../http/etcd-json.js';
import type { ReplayMarker } from '../http/kv-operations.js';
import { readBarrier, replicateWrite } from '../http/kv-operations.js';
import { compactionResponse } from '../http/maintenance-routes.js';
import { sliceOptions } from '../http/range-slicing.js';
import { txnResultWithLeases } from '../lease/lease-views.js';
import { responseHeaderSource } from '../http/response-header-source.js';
import { rangeViewOf } from '../http/v3-routes.js';
import type { KeyValue, RangeResult, RangeView } from '../store/kv-types.js';
import type { UnaryMethod } from './grpc-call.js';
import { unary } from './grpc-call.js';

/** gRPC carries no idempotency key, so a write is never a replay to be marked. */
const NO_REPLAY: ReplayMarker = { response: { setHeader: () => undefined } };

/**
 * The key-values of a range answer, cut like the gateway cuts its body: past
 * `--max-range-response-bytes` when the request set a limit (then `more` tells the client to
 * page on), never when it did not (it asked for everything).
 */
function materialize(view: RangeView, maxBytes: number): RangeResult {
  const kvs: KeyValue[] = [];
  let bytes = 0;
  let cut = false;
  for (let index = 0; index < view.length; index++) {
    const kv = view.keyValue(index);
    bytes += kv.key.length + kv.value.length;
    if (bytes > maxBytes && kvs.length > 0) {
      cut = true;
      break;
    }
    kvs.push(kv);
  }
  return { kvs, more: view.more || cut, count: view.count, revision: view.revision };
}

/**
 * KV's methods on the gateway's message shapes: the service's handlers, and what the lock and
 * election services call (with their caller's credentials), so one path checks and replicates.
 */
export interface KvMethods {
  Range: UnaryMethod;
  Put: UnaryMethod;
  DeleteRange: UnaryMethod;
  Txn: UnaryMethod;
}

/** KV's Range, Put, DeleteRange and Txn over `context` (see {@link KvMethods}). */
export function kvMethods(context: ApiContext): KvMethods {
  const headerSource = () => responseHeaderSource(context.backend);
  return {
    Range: async (body, credentials) => {
      const decoded = decodeRange(body, context.limits);
      if (!decoded.serializable) await readBarrier(context);
      context.auth.authorize(context.backend.auth, credentials, () => rangeNeeds(decoded.request));
      const view = rangeViewOf(context, decoded);
      const maxBytes = sliceOptions(context, decoded.request).maxBodyBytes;
      return rangeResponseJson(headerSource(), materialize(view, maxBytes));
    },
    Put: async (body, credentials) => {
      const request = decodePut(body, context.limits);
      const user = context.auth.authorize(context.backend.auth, credentials, () =>
        putNeeds(request),
      );
      const result = await replicateWrite(context, NO_REPLAY, {
        type: 'put',
        request,
        ...asUser(user),
      });
      if (result.type !== 'put') throw new Error(`put answered with ${result.type}`);
      return putResponseJson(headerSource(), result.result);
    },
    DeleteRange: async (body, credentials) => {
      const request = decodeDeleteRange(body, context.limits);
      const user = context.auth.authorize(context.backend.auth, credentials, () =>
        deleteRangeNeeds(request),
      );
      const result = await replicateWrite(context, NO_REPLAY, {
        type: 'deleteRange',
        request,
        ...asUser(user),
      });
      if (result.type !== 'deleteRange') throw new Error(`delete answered with ${result.type}`);
      return deleteRangeResponseJson(headerSource(), result.result);
    },
    Txn: async (body, credentials) => {
      const request = decodeTxn(body, context.limits);
      if (isReadOnlyTxn(request)) {
        // A read-only transaction takes a read barrier instead of a log entry, as in the gateway.
        await readBarrier(context);
        context.auth.authorize(context.backend.auth, credentials, () => txnNeeds(request));
        const result = context.backend.store.txn(request);
        return txnResponseJson(headerSource(), txnResultWithLeases(result, context.backend.leases));
      }
      const user = context.auth.authorize(context.backend.auth, credentials, () =>
        txnNeeds(request),
      );
      const result = await replicateWrite(context, NO_REPLAY, {
        type: 'txn',
        request,
        ...asUser(user),
      });
      if (result.type !== 'txn') throw new Error(`txn answered with ${result.type}`);
      // Ranges in a transaction show each key's lease, as the gateway's do.
      return txnResponseJson(
        headerSource(),
        txnResultWithLeases(result.result, context.backend.leases),
      );
    },
  };
}

/** The handlers of `etcdserverpb.KV`. */
export function kvService(context: ApiContext): UntypedServiceImplementation {
  const methods = kvMethods(context);
  return {
    Range: unary(context, methods.Range),
    Put: unary(context, methods.Put),
    DeleteRange: unary(context, methods.DeleteRange),
    Txn: unary(context, methods.Txn),
    // Through the log like `/v3/kv/compaction`; a compacted or future revision is OUT_OF_RANGE.
    Compact: unary(context, (body) => compactionResponse(context, body)),
  };
}
