/**
 * The HTTP API of a node: routing, error envelope, metrics per route, and a Node HTTP server with
 * limits against slow clients (request and header timeouts).
 */

import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { AuthGate, DEFAULT_AUTH_GATE_OPTIONS } from '../auth/auth-gate.js';
import type { AuthGateOptions } from '../auth/auth-gate.js';
import { AUTH_ROUTES } from '../auth/auth-routes.js';
import { LEASE_ROUTES } from '../lease/lease-routes.js';
import { CONTENTION_ROUTES } from './contention-routes.js';
import { silentLogger } from '../logging/logger.js';
import type { Logger } from '../logging/logger.js';
import type { NodeMetrics } from '../metrics/node-metrics.js';
import type { ApiContext, Timers } from './api-context.js';
import { ApiError, GrpcCode } from './api-error.js';
import type { ApiLimits } from './api-limits.js';
import { DEFAULT_API_LIMITS } from './api-limits.js';
import { Exchange } from './exchange.js';
import { armRequestDeadline } from './request-deadline.js';
import type { KvBackend } from './kv-backend.js';
import { dashboard, health, livez, metrics, readyz, version } from './ops-routes.js';
import {
  REST_KEY_PREFIX,
  restCluster,
  restDelete,
  restGet,
  restList,
  restPut,
} from './rest-routes.js';
import { v3Alarm, v3Compaction, v3Status } from './maintenance-routes.js';
import { restWatch, v3Watch } from './watch-routes.js';
import { v3DeleteRange, v3MemberList, v3Put, v3Range, v3Txn } from './v3-routes.js';
import { v3MemberChange } from './cluster-routes.js';

type Handler = (context: ApiContext, exchange: Exchange) => Promise<void>;

interface Route {
  /** Pattern for metrics labels. */
  pattern: string;
  methods: Record<string, Handler>;
}

type RequestLabels = Readonly<Record<'route' | 'method' | 'status', string>>;

/**
 * The metrics labels of each route, method and status, made once: a request then passes a
 * shared (never modified) object instead of building one and a status string. Bounded: routes
 * and statuses by the code, methods by the parser's list.
 */
const labelCache = new Map<string, Map<string, Map<number, RequestLabels>>>();

function requestLabels(route: string, method: string, status: number): RequestLabels {
  let byMethod = labelCache.get(route);
  if (byMethod === undefined) {
    byMethod = new Map();
    labelCache.set(route, byMethod);
  }
  let byStatus = byMethod.get(method);
  if (byStatus === undefined) {
    byStatus = new Map();
    byMethod.set(method, byStatus);
  }
  let labels = byStatus.get(status);
  if (labels === undefined) {
    labels = { route, method, status: String(status) };
    byStatus.set(status, labels);
  }
  return labels;
}

const exactRoutes = new Map<string, Route>([
  ['/v3/kv/range', { pattern: '/v3/kv/range', methods: { POST: v3Range } }],
  ['/v3/kv/put', { pattern: '/v3/kv/put', methods: { POST: v3Put } }],
  ['/v3/kv/deleterange', { pattern: '/v3/kv/deleterange', methods: { POST: v3DeleteRange } }],
  ['/v3/kv/txn', { pattern: '/v3/kv/txn', methods: { POST: v3Txn } }],
  ['/v3/maintenance/status', { pattern: '/v3/maintenance/status', methods: { POST: v3Status } }],
  ['/v3/kv/compaction', { pattern: '/v3/kv/compaction', methods: { POST: v3Compaction } }],
  ['/v3/maintenance/alarm', { pattern: '/v3/maintenance/alarm', methods: { POST: v3Alarm } }],
  ['/v3/watch', { pattern: '/v3/watch', methods: { POST: v3Watch } }],
  ['/v1/watch', { pattern: '/v1/watch', methods: { GET: restWatch } }],
  [
    '/v3/cluster/member/list',
    { pattern: '/v3/cluster/member/list', methods: { POST: v3MemberList } },
  ],
  ...(['add', 'remove', 'update', 'promote'] as const).map((kind): [string, Route] => {
    const path = `/v3/cluster/member/${kind}`;
    return [path, { pattern: path, methods: { POST: v3MemberChange(kind) } }];
  }),
  ['/v1/kv', { pattern: '/v1/kv', methods: { GET: restList } }],
  ['/v1/cluster', { pattern: '/v1/cluster', methods: { GET: restCluster } }],
  ['/health', { pattern: '/health', methods: { GET: health } }],
  ['/version', { pattern: '/version', methods: { GET: version } }],
  ['/readyz', { pattern: '/readyz', methods: { GET: readyz } }],
  ['/livez', { pattern: '/livez', methods: { GET: livez } }],
  ['/metrics', { pattern: '/metrics', methods: { GET: metrics } }],
  ['/dashboard', { pattern: '/dashboard', methods: { GET: dashboard } }],
  ...AUTH_ROUTES.map(([path, handler]): [string, Route] => [
    path,
    { pattern: path, methods: { POST: handler } },
  ]),
  ...LEASE_ROUTES.map(([path, handler]): [string, Route] => [
    path,
    { pattern: path, methods: { POST: handler } },
  ]),
  ...CONTENTION_ROUTES.map(([path, handler]): [string, Route] => [
    path,
    { pattern: path, methods: { POST: handler } },
  ]),
]);

const keyRoute: Route = {
  pattern: '/v1/kv/{key}',
  methods: { GET: restGet, PUT: restPut, DELETE: restDelete },
};

function findRoute(pathname: string, rawPath: string): Route | undefined {
  if (rawPath.startsWith(REST_KEY_PREFIX)) return keyRoute;
  return exactRoutes.get(pathname);
}

/** Options of {@link createApiHandler}. */
export interface HttpApiOptions {
  backend: KvBackend;
  metrics: NodeMetrics;
  limits?: ApiLimits;
  logger?: Logger;
  timers?: Timers;
  /** Longest wait for a write or linearizable read, in ms. Default 7,000 (etcd: 5 s + 2 x election). */
  operationTimeoutMs?: number;
  /** Reported by `/version`, `/v3/maintenance/status` and `etcd_server_version`. */
  version?: string;
  /** Whether the node is shutting down; new requests then get 503. */
  isShuttingDown?: () => boolean;
  /** Token lifetime, hash cost and certificate identities (default: etcd's defaults). */
  auth?: AuthGateOptions;
  /** etcd's minimum lease TTL for this member's timing, in seconds (default 2). */
  minLeaseTtlSeconds?: number;
  /** See {@link ApiContext.quotaBackendBytes}. */
  quotaBackendBytes?: number;
  /** See {@link ApiContext.watchProgressIntervalMs}. */
  watchProgressIntervalMs?: number;
}

/** A request listener serving the whole API. */
export function createApiHandler(options: HttpApiOptions): RequestListener {
  return apiHandlerFor(createApiContext(options));
}

/**
 * What the routes share (backend, auth gate, limits, deadlines), built once so that every
 * protocol on the client port (HTTP/1.1 and gRPC) serves through the same one.
 */
export function createApiContext(options: HttpApiOptions): ApiContext {
  return {
    backend: options.backend,
    auth: new AuthGate(options.auth ?? DEFAULT_AUTH_GATE_OPTIONS),
    metrics: options.metrics,
    limits: options.limits ?? DEFAULT_API_LIMITS,
    logger: options.logger ?? silentLogger,
    timers: options.timers ?? {
      setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
      clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
    },
    operationTimeoutMs: options.operationTimeoutMs ?? 7000,
    version: options.version ?? '0.0.0',
    isShuttingDown: options.isShuttingDown ?? (() => false),
    ...(options.minLeaseTtlSeconds === undefined
      ? {}
      : { minLeaseTtlSeconds: options.minLeaseTtlSeconds }),
    ...(options.quotaBackendBytes === undefined
      ? {}
      : { quotaBackendBytes: options.quotaBackendBytes }),
    ...(options.watchProgressIntervalMs === undefined
      ? {}
      : { watchProgressIntervalMs: options.watchProgressIntervalMs }),
  };
}

/** A request listener serving the whole API through `context`. */
export function apiHandlerFor(context: ApiContext): RequestListener {
  return (request: IncomingMessage, response: ServerResponse) => {
    void handle(context, request, response);
  };
}

async function handle(
  context: ApiContext,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const started = performance.now();
  const exchange = new Exchange(request, response);
  const method = request.method ?? 'GET';
  const route = findRoute(exchange.pathname, exchange.rawPath);
  try {
    if (route === undefined) {
      throw new ApiError(`no route ${exchange.pathname}`, {
        reason: 'route_not_found',
        status: 404,
        grpcCode: GrpcCode.notFound,
        definite: true,
      });
    }
    const handler = route.methods[method];
    if (handler === undefined) {
      response.setHeader('allow', Object.keys(route.methods).join(', '));
      throw new ApiError(`method ${method} not allowed on ${route.pattern}`, {
        reason: 'method_not_allowed',
        status: 405,
        grpcCode: GrpcCode.unimplemented,
        definite: true,
      });
    }
    await handler(context, exchange);
  } catch (error) {
    if (error instanceof ApiError) {
      exchange.error(error);
    } else {
      context.logger.error({ err: error, path: exchange.pathname }, 'request failed');
      exchange.error(
        new ApiError(`internal error: ${(error as Error).message}`, {
          reason: 'internal',
          status: 500,
          grpcCode: GrpcCode.internal,
          // Unknown failures on a write route may come after the write was proposed.
          definite: method === 'GET',
        }),
      );
    }
  } finally {
    const seconds = (performance.now() - started) / 1000;
    context.metrics.requestDuration.observe(
      requestLabels(route?.pattern ?? 'unknown', method, exchange.status),
      seconds,
    );
  }
}

/** TLS material for the client port. */
export interface ServerTls {
  cert: Buffer;
  key: Buffer;
  /** CA to verify client certificates against (then clients must present one). */
  ca?: Buffer;
}

/** Options of {@link createHttpServer}. */
export interface HttpServerOptions {
  /**
   * Longest time to receive a whole request after its headers, in ms (slow clients get 408); a
   * watch stream, once started, is exempt. Default 10,000.
   */
  requestTimeoutMs?: number;
  /** Longest time to receive the request headers, in ms. Default 5,000. */
  headersTimeoutMs?: number;
  /** Idle keep-alive connections close after this many ms. Default 30,000. */
  keepAliveTimeoutMs?: number;
  tls?: ServerTls;
  /**
   * Picks the ALPN protocol on a TLS port from those the client offers (Node's `ALPNCallback`);
   * default: HTTP/1.1 only.
   */
  alpnCallback?: (offer: { servername: string; protocols: string[] }) => string | undefined;
}

/** A Node HTTP (or HTTPS) server running `listener`, hardened against slow clients. */
export function createHttpServer(
  listener: RequestListener,
  options: HttpServerOptions = {},
): Server {
  const requestTimeout = options.requestTimeoutMs ?? 10_000;
  const headersTimeout = Math.min(options.headersTimeoutMs ?? 5000, requestTimeout);
  const common = {
    // Per request instead (see `request-deadline.ts`): Node's would cut long-lived streams.
    requestTimeout: 0,
    headersTimeout,
    keepAliveTimeout: options.keepAliveTimeoutMs ?? 30_000,
    // How often Node checks the headers timeout; the default (30 s) would let a slow client
    // hold a connection far longer than the timeout says.
    connectionsCheckingInterval: Math.max(100, Math.min(1000, headersTimeout / 4)),
    noDelay: true,
  };
  const timed: RequestListener = (request, response) => {
    armRequestDeadline(request, response, requestTimeout);
    listener(request, response);
  };
  if (options.tls !== undefined) {
    return createTlsServer(
      {
        ...common,
        cert: options.tls.cert,
        key: options.tls.key,
        ...(options.tls.ca === undefined ? {} : { ca: options.tls.ca, requestCert: true }),
        ...(options.alpnCallback === undefined ? {} : { ALPNCallback: options.alpnCallback }),
      },
      timed,
    );
  }
  return createServer(common, timed);
}
