/**
 * The client API of a member in quorum mode: the REST key routes and etcd's v3 JSON put, range
 * and deleterange, each at the consistency level the request names (`?consistency=` or the
 * `X-Kv-Consistency` header: one, quorum (default), linearizable); `/v1/cluster`, health and
 * metrics; etcd's member list (its changes refused: the members are fixed). Txn (and with it CAS, If-Match) answers 501: without a leader there is no order of
 * writes to compare against. Other routes answer 501 too.
 */

import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import {
  ApiError,
  GrpcCode,
  badRequest,
  indeterminate,
  keyNotFound,
  tooLarge,
  unavailable,
} from '../http/api-error.js';
import type { ApiLimits } from '../http/api-limits.js';
import { Exchange } from '../http/exchange.js';
import {
  decodeDeleteRange,
  decodePut,
  decodeRange,
  deleteRangeResponseJson,
  putResponseJson,
  rangeResponseJson,
} from '../http/etcd-json.js';
import type { Logger } from '../logging/logger.js';
import type { NodeMetrics } from '../metrics/node-metrics.js';
import {
  byteStringFromBytes,
  byteStringFromUtf8,
  bytesFromByteString,
  prefixRangeEnd,
} from '../store/byte-string.js';
import type { ByteString } from '../store/byte-string.js';
import type { KeyValue } from '../store/kv-types.js';
import { isConsistencyLevel } from './consistency-level.js';
import type { ConsistencyLevel } from './consistency-level.js';
import {
  QuorumOutcomeUnknownError,
  QuorumSizesRefusedError,
  QuorumUnavailableError,
} from './quorum-coordinator.js';
import type { QuorumCoordinator } from './quorum-coordinator.js';
import type { StoredValue } from './value-version.js';
import { encodeValueVersion } from './value-version.js';
import { QuorumFailedError } from '@x/quorum';
import type { JsonBody } from '../http/etcd-json.js';
import { quorumMembershipRefused } from './quorum-cluster-api.js';

/** What the routes need. */
export interface QuorumHttpOptions {
  readonly coordinator: QuorumCoordinator;
  readonly limits: ApiLimits;
  readonly metrics: NodeMetrics;
  readonly logger: Logger;
  readonly clusterId: string;
  readonly memberId: string;
  /** The body of `/v1/cluster`. */
  readonly clusterStatus: () => Record<string, unknown>;
  /** The body of `POST /v3/cluster/member/list` (see quorum-cluster-api.ts). */
  readonly memberList: () => JsonBody;
  /** Why this member cannot serve quorum requests now (`undefined`: it can), for `/health`. */
  readonly unhealthyReason: () => string | undefined;
  /** Called before `/metrics` renders, to refresh gauges. */
  readonly refreshMetrics: () => void;
  readonly isShuttingDown: () => boolean;
  readonly onRequest: (operation: string, level: ConsistencyLevel, outcome: string) => void;
}

const REST_KEY_PREFIX = '/v1/kv/';

/** The request listener of a quorum-mode member. */
export function createQuorumApiHandler(options: QuorumHttpOptions): RequestListener {
  return (request: IncomingMessage, response: ServerResponse) => {
    void handle(options, new Exchange(request, response));
  };
}

async function handle(options: QuorumHttpOptions, exchange: Exchange): Promise<void> {
  const method = exchange.request.method ?? 'GET';
  const path = exchange.pathname;
  let operation = 'other';
  let level: ConsistencyLevel = 'quorum';
  try {
    if (options.isShuttingDown()) throw unavailable('this node is shutting down', 'shutting_down');
    if (path === '/livez' || path === '/readyz') {
      exchange.send(200, 'ok\n', { 'content-type': 'text/plain; charset=utf-8' });
      return;
    }
    if (path === '/health') {
      const reason = options.unhealthyReason();
      exchange.json(reason === undefined ? 200 : 503, {
        health: reason === undefined ? 'true' : 'false',
        reason: reason ?? '',
      });
      return;
    }
    if (path === '/metrics' && method === 'GET') {
      options.refreshMetrics();
      const registry = options.metrics.registry;
      exchange.send(200, await registry.metrics(), { 'content-type': registry.contentType });
      return;
    }
    if (path === '/v1/cluster' && method === 'GET') {
      exchange.json(200, options.clusterStatus());
      return;
    }
    level = consistencyOf(exchange);
    if (exchange.rawPath.startsWith(REST_KEY_PREFIX)) {
      operation = `rest ${method}`;
      await restKey(options, exchange, method, level);
    } else if (path === '/v1/kv' && method === 'GET') {
      operation = 'rest list';
      await restList(options, exchange, level);
    } else if (path === '/v3/kv/put' && method === 'POST') {
      operation = 'v3 put';
      await v3Put(options, exchange, level);
    } else if (path === '/v3/kv/range' && method === 'POST') {
      operation = 'v3 range';
      await v3Range(options, exchange, level);
    } else if (path === '/v3/kv/deleterange' && method === 'POST') {
      operation = 'v3 deleterange';
      await v3DeleteRange(options, exchange, level);
    } else if (path === '/v3/cluster/member/list' && method === 'POST') {
      operation = 'v3 member list';
      // The body is etcd's empty MemberListRequest: read (bounded) and not needed.
      await exchange.readJson(options.limits.maxRequestBytes);
      exchange.json(200, options.memberList());
    } else if (path.startsWith('/v3/cluster/member/')) {
      throw quorumMembershipRefused();
    } else if (path === '/v3/kv/txn') {
      throw notImplemented(
        'txn is not available with --replication quorum: without a leader no order of writes exists ' +
          'to compare against (use --replication leader for transactions and compare-and-swap)',
      );
    } else {
      throw notImplemented(`${path} is not available with --replication quorum`);
    }
    options.onRequest(operation, level, 'ok');
  } catch (error) {
    const apiError = toApiError(error, method);
    if (!(apiError.details.status < 500) || apiError.details.status === 501) {
      options.logger.debug({ err: error, path }, 'quorum request failed');
    }
    options.onRequest(operation, level, apiError.details.reason);
    exchange.error(apiError);
  }
}

function notImplemented(message: string): ApiError {
  return new ApiError(message, {
    reason: 'unsupported',
    status: 501,
    grpcCode: GrpcCode.unimplemented,
    definite: true,
  });
}

function consistencyOf(exchange: Exchange): ConsistencyLevel {
  const text =
    exchange.url.searchParams.get('consistency') ?? exchange.header('x-kv-consistency') ?? 'quorum';
  if (!isConsistencyLevel(text)) {
    throw badRequest('consistency must be one, quorum or linearizable', 'consistency');
  }
  return text;
}

function toApiError(error: unknown, method: string): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof QuorumUnavailableError) return unavailable(error.message);
  if (error instanceof QuorumSizesRefusedError) return badRequest(error.message, 'consistency');
  if (error instanceof QuorumOutcomeUnknownError) return indeterminate(error.message);
  if (error instanceof QuorumFailedError) {
    // A read, or the first phase of a linearizable write (a read), changed nothing; a failed
    // read repair only wrote back a value that was already stored.
    const what =
      error.operation === 'read repair' ? 'the read did not complete' : 'nothing was written';
    return new ApiError(`${error.message}; ${what}`, {
      reason: 'unavailable',
      status: 503,
      grpcCode: GrpcCode.unavailable,
      definite: true,
      retryAfterSeconds: 1,
    });
  }
  return new ApiError(`internal error: ${(error as Error).message}`, {
    reason: 'internal',
    status: 500,
    grpcCode: GrpcCode.internal,
    definite: method === 'GET',
  });
}

function keyFromPath(limits: ApiLimits, exchange: Exchange): ByteString {
  let text: string;
  try {
    text = decodeURIComponent(exchange.rawPath.slice(REST_KEY_PREFIX.length));
  } catch {
    throw badRequest('key is not valid percent-encoded UTF-8', 'key');
  }
  const key = byteStringFromUtf8(text);
  if (key.length === 0) throw badRequest('key is empty', 'key');
  if (key.length > limits.maxKeyBytes) {
    throw tooLarge(`key is ${key.length} bytes; the limit is ${limits.maxKeyBytes}`, 'key');
  }
  return key;
}

function versionHeaders(stored: StoredValue): Record<string, string> {
  const version = encodeValueVersion(stored.version);
  return { etag: `"${version}"`, 'x-kv-version': version, 'x-kv-writer': stored.version.writer };
}

async function restKey(
  options: QuorumHttpOptions,
  exchange: Exchange,
  method: string,
  level: ConsistencyLevel,
): Promise<void> {
  const key = keyFromPath(options.limits, exchange);
  if (exchange.header('if-match') !== undefined || exchange.header('if-none-match') !== undefined) {
    if (method !== 'GET') {
      throw notImplemented(
        'conditional writes (If-Match, If-None-Match) need --replication leader',
      );
    }
  }
  const { coordinator, limits } = options;
  if (method === 'GET') {
    const stored = await coordinator.read(key, level);
    if (stored === undefined || stored.value === null) throw keyNotFound();
    exchange.send(200, bytesFromByteString(stored.value), {
      ...versionHeaders(stored),
      'x-kv-consistency': level,
      'content-type': 'application/octet-stream',
    });
    return;
  }
  if (method === 'PUT') {
    const body = await exchange.readRaw(limits.maxRequestBytes);
    if (body.length > limits.maxValueBytes) {
      throw tooLarge(
        `value is ${body.length} bytes; the limit is ${limits.maxValueBytes}`,
        'value',
      );
    }
    const version = await coordinator.write(key, byteStringFromBytes(body), level);
    exchange.json(
      200,
      { version: encodeValueVersion(version), consistency: level },
      {
        etag: `"${encodeValueVersion(version)}"`,
      },
    );
    return;
  }
  if (method === 'DELETE') {
    await exchange.readRaw(limits.maxRequestBytes);
    const version = await coordinator.write(key, null, level);
    exchange.json(200, { version: encodeValueVersion(version), consistency: level });
    return;
  }
  exchange.response.setHeader('allow', 'GET, PUT, DELETE');
  throw new ApiError(`method ${method} not allowed`, {
    reason: 'method_not_allowed',
    status: 405,
    grpcCode: GrpcCode.unimplemented,
    definite: true,
  });
}

async function restList(
  options: QuorumHttpOptions,
  exchange: Exchange,
  level: ConsistencyLevel,
): Promise<void> {
  const params = exchange.url.searchParams;
  const prefix = byteStringFromUtf8(params.get('prefix') ?? '');
  const limitText = params.get('limit') ?? '0';
  if (!/^\d{1,9}$/.test(limitText))
    throw badRequest('limit must be a non-negative integer', 'limit');
  const end = prefix === '' ? undefined : prefixRangeEnd(prefix);
  const read = await options.coordinator.range(
    prefix,
    end === '\0' ? undefined : end,
    Number(limitText),
    level,
  );
  exchange.json(200, {
    consistency: level,
    count: read.entries.length,
    more: read.more,
    items: read.entries.map(({ key, stored }) => ({
      key: Buffer.from(key, 'latin1').toString('utf8'),
      value: Buffer.from(stored.value ?? '', 'latin1').toString('utf8'),
      version: encodeValueVersion(stored.version),
    })),
  });
}

/** A stored value as etcd's KeyValue: quorum mode has no revisions (0), version 1. */
function keyValueOf(key: ByteString, stored: StoredValue): KeyValue {
  return { key, value: stored.value ?? '', createRevision: 0, modRevision: 0, version: 1 };
}

function header(options: QuorumHttpOptions): {
  clusterId: string;
  memberId: string;
  generation: number;
} {
  return { clusterId: options.clusterId, memberId: options.memberId, generation: 0 };
}

/** etcd's range end: '' one key, '\0' every key from `key` on, else `[key, rangeEnd)`. */
function rangeEndOf(rangeEnd: ByteString): ByteString | undefined {
  return rangeEnd === '\0' ? undefined : rangeEnd;
}

async function v3Put(
  options: QuorumHttpOptions,
  exchange: Exchange,
  level: ConsistencyLevel,
): Promise<void> {
  const put = decodePut(await exchange.readJson(options.limits.maxRequestBytes), options.limits);
  if (put.prevKv) throw notImplemented('prev_kv is not available with --replication quorum');
  await options.coordinator.write(put.key, put.value, level);
  exchange.json(200, putResponseJson(header(options), { revision: 0 }));
}

async function v3Range(
  options: QuorumHttpOptions,
  exchange: Exchange,
  level: ConsistencyLevel,
): Promise<void> {
  const decoded = decodeRange(
    await exchange.readJson(options.limits.maxRequestBytes),
    options.limits,
  );
  const { request } = decoded;
  if (decoded.revision !== 0) throw notImplemented('reads at a revision need --replication leader');
  // etcd's serializable flag asks for a local read: level one, unless the request named a level.
  const explicit =
    exchange.url.searchParams.has('consistency') ||
    exchange.header('x-kv-consistency') !== undefined;
  const effective = decoded.serializable && !explicit ? 'one' : level;
  let kvs: KeyValue[];
  let more = false;
  if (request.rangeEnd === '') {
    const stored = await options.coordinator.read(request.key, effective);
    kvs = stored === undefined || stored.value === null ? [] : [keyValueOf(request.key, stored)];
  } else {
    const read = await options.coordinator.range(
      request.key,
      rangeEndOf(request.rangeEnd),
      request.limit,
      effective,
    );
    kvs = read.entries.map(({ key, stored }) => keyValueOf(key, stored));
    more = read.more;
  }
  const count = kvs.length;
  if (request.keysOnly) kvs = kvs.map((kv) => ({ ...kv, value: '' }));
  if (request.countOnly) kvs = [];
  exchange.json(200, rangeResponseJson(header(options), { kvs, more, count, revision: 0 }));
}

async function v3DeleteRange(
  options: QuorumHttpOptions,
  exchange: Exchange,
  level: ConsistencyLevel,
): Promise<void> {
  const request = decodeDeleteRange(
    await exchange.readJson(options.limits.maxRequestBytes),
    options.limits,
  );
  if (request.prevKv) throw notImplemented('prev_kv is not available with --replication quorum');
  let keys: ByteString[];
  if (request.rangeEnd === '') {
    const stored = await options.coordinator.read(request.key, level);
    keys = stored === undefined || stored.value === null ? [] : [request.key];
  } else {
    const read = await options.coordinator.range(
      request.key,
      rangeEndOf(request.rangeEnd),
      0,
      level,
    );
    keys = read.entries.map(({ key }) => key);
  }
  // Each key gets its own tombstone: a delete of a range is not atomic without a leader.
  for (const key of keys) await options.coordinator.write(key, null, level);
  exchange.json(
    200,
    deleteRangeResponseJson(header(options), { deleted: keys.length, prevKvs: [], revision: 0 }),
  );
}
