/**
 * etcd 3.4's JSON gateway routes of its server-side lock and election services (`/v3/lock/*`,
 * `/v3/election/*`): each body is read as the `.proto` message it stands for (`proto-json.ts`)
 * and handed to the very functions the gRPC services run (`grpc/lock-service.ts`,
 * `grpc/election-service.ts`), with the caller's credentials; failures answer as etcd's gateway
 * does, and `/v3/election/observe` streams `{"result": ...}` lines as grpc-gateway streams.
 */

import { STATUS_CODES } from 'node:http';
import type { ContentionContext } from '../grpc/contention.js';
import { recipeStatus } from '../grpc/contention.js';
import { kvMethods } from '../grpc/kv-service.js';
import type { KvMethods } from '../grpc/kv-service.js';
import { lock, unlock } from '../grpc/lock-service.js';
import { campaign, leader, observeLeader, proclaim, resign } from '../grpc/election-service.js';
import type { ApiContext } from './api-context.js';
import { ApiError } from './api-error.js';
import type { ErrorReason } from './api-error.js';
import type { JsonBody } from './etcd-json.js';
import type { Exchange } from './exchange.js';
import { keepStreamOpen } from './request-deadline.js';
import { protoJson } from './proto-json.js';

type Handler = (context: ApiContext, exchange: Exchange) => Promise<void>;
type ContentionMethod = (request: unknown, contention: ContentionContext) => Promise<JsonBody>;

/** grpc-gateway's HTTP status for each gRPC code (its `HTTPStatusFromCode`, as etcd 3.4 vendors it). */
const HTTP_STATUS_OF_CODE: Record<number, number> = {
  1: 408,
  2: 500,
  3: 400,
  4: 504,
  5: 404,
  6: 409,
  7: 403,
  8: 429,
  9: 412,
  10: 409,
  11: 400,
  12: 501,
  13: 500,
  14: 503,
  15: 500,
  16: 401,
};

const REASON_OF_CODE: Record<number, ErrorReason> = {
  2: 'unknown',
  3: 'bad_request',
  5: 'not_found',
  7: 'permission_denied',
  9: 'precondition_failed',
  14: 'unavailable',
  16: 'unauthenticated',
};

/** A gRPC status error (as the shared functions throw them) as the gateway's error. */
function apiErrorOf(failure: unknown): unknown {
  const error = recipeStatus(failure);
  if (!(error instanceof Error)) return error;
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'number') return error;
  return new ApiError(error.message, {
    reason: REASON_OF_CODE[code] ?? 'internal',
    status: HTTP_STATUS_OF_CODE[code] ?? 500,
    grpcCode: code,
    // Each of these refusals comes before or instead of a write (a lost write is an ApiError).
    definite: code !== 4 && code !== 14,
  });
}

const kvOfContext = new WeakMap<ApiContext, KvMethods>();

/** The contention context of one gateway request: cancelled when its client goes away. */
function contentionOf(context: ApiContext, exchange: Exchange): ContentionContext {
  let kv = kvOfContext.get(context);
  if (kv === undefined) {
    kv = kvMethods(context);
    kvOfContext.set(context, kv);
  }
  let cancelled = false;
  const listeners = new Set<() => void>();
  exchange.response.once('close', () => {
    if (exchange.response.writableFinished) return;
    cancelled = true;
    for (const listener of listeners) listener();
  });
  return {
    context,
    kv,
    credentials: exchange,
    cancelled: () => cancelled,
    onCancel: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** A unary route: the body as `requestType`, answered by `method`. */
function unaryRoute(requestType: string, method: ContentionMethod): Handler {
  const request = protoJson(requestType);
  return async (context, exchange) => {
    const body = request.canonical(await exchange.readJson(context.limits.maxRequestBytes));
    const contention = contentionOf(context, exchange);
    let response: JsonBody;
    try {
      response = await method(body, contention);
    } catch (error) {
      throw apiErrorOf(error);
    }
    exchange.json(200, response);
  };
}

/** grpc-gateway's error line in a stream (`runtime.StreamError`). */
function streamErrorLine(error: ApiError): string {
  const status = error.details.status;
  return `${JSON.stringify({
    error: {
      grpc_code: error.details.grpcCode,
      http_code: status,
      message: error.message,
      http_status: STATUS_CODES[status] ?? '',
    },
  })}\n`;
}

/**
 * `/v3/election/observe`: a `{"result": LeaderResponse}` line per leader or value change, the
 * status and headers sent with the first line, as grpc-gateway's stream forwarding does; a
 * failure ends the stream with its error line (and its status, if nothing was sent yet).
 */
const observeRoute: Handler = async (context, exchange) => {
  const request = protoJson('v3electionpb.LeaderRequest').canonical(
    await exchange.readJson(context.limits.maxRequestBytes),
  );
  keepStreamOpen(exchange.request);
  const response = exchange.response;
  const contention = contentionOf(context, exchange);
  const start = (status: number): void => {
    if (response.headersSent) return;
    exchange.status = status;
    response.writeHead(status, { 'content-type': 'application/json' });
  };
  await new Promise<void>((resolve) => {
    const stop = observeLeader(contention, (request.name as string | undefined) ?? '', {
      send: async (leaderResponse) => {
        start(200);
        if (response.write(`${JSON.stringify({ result: leaderResponse })}\n`)) return;
        await new Promise<void>((drained) => {
          response.once('drain', drained);
          response.once('close', drained);
        });
      },
      fail: (error) => {
        const failure = apiErrorOf(error);
        const apiError =
          failure instanceof ApiError
            ? failure
            : new ApiError(`internal error: ${(error as Error).message}`, {
                reason: 'internal',
                status: 500,
                grpcCode: 13,
                definite: true,
              });
        if (!(failure instanceof ApiError)) {
          context.logger.error({ err: error, path: exchange.pathname }, 'observe failed');
        }
        start(apiError.details.status);
        response.end(streamErrorLine(apiError));
        resolve();
      },
    });
    response.once('close', () => {
      stop();
      resolve();
    });
  });
};

/** The lock and election routes, by path (all POST). */
export const CONTENTION_ROUTES: readonly (readonly [string, Handler])[] = [
  ['/v3/lock/lock', unaryRoute('v3lockpb.LockRequest', lock)],
  ['/v3/lock/unlock', unaryRoute('v3lockpb.UnlockRequest', unlock)],
  ['/v3/election/campaign', unaryRoute('v3electionpb.CampaignRequest', campaign)],
  ['/v3/election/proclaim', unaryRoute('v3electionpb.ProclaimRequest', proclaim)],
  ['/v3/election/leader', unaryRoute('v3electionpb.LeaderRequest', leader)],
  ['/v3/election/resign', unaryRoute('v3electionpb.ResignRequest', resign)],
  ['/v3/election/observe', observeRoute],
];
