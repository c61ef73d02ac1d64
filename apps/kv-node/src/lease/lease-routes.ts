/**
 * etcd 3.4's lease routes on the JSON gateway (`/v3/lease/*` and the `/v3/kv/lease/*` aliases it
 * also serves), in its shapes (mapped from etcd's protos by `proto-json.ts`: int64s as decimal
 * strings, zero fields omitted), keep-alive answered as one line of its stream
 * (`{"result": {...}}`). Grant and revoke go through the log; keep-alive and time-to-live ask the
 * leader's lease clock.
 */

import { randomBytes } from 'node:crypto';
import type { ApiContext } from '../http/api-context.js';
import type { RequestCredentials } from '../auth/auth-gate.js';
import { headerModel } from '../http/etcd-json.js';
import type { JsonBody } from '../http/etcd-json.js';
import type { Exchange } from '../http/exchange.js';
import { readBarrier, replicateLease } from '../http/kv-operations.js';
import type { DecodedMessage } from '../http/proto-json.js';
import { protoJson } from '../http/proto-json.js';
import { responseHeaderSource } from '../http/response-header-source.js';
import { leaseError } from './lease-errors.js';
import type { LeaseId } from './lease-id.js';
import { NO_LEASE, leaseIdFromRandomBytes } from './lease-id.js';
import { MAX_LEASE_TTL_SECONDS } from './lease-limits.js';

type Handler = (context: ApiContext, exchange: Exchange) => Promise<void>;

/** etcd's minimum TTL with its default timing (heartbeat 100 ms, election 1000 ms). */
export const DEFAULT_MIN_LEASE_TTL_SECONDS = 2;

/** The messages of etcd's Lease service, from its protos. */
const messages = {
  grantRequest: protoJson('etcdserverpb.LeaseGrantRequest'),
  grantResponse: protoJson('etcdserverpb.LeaseGrantResponse'),
  revokeRequest: protoJson('etcdserverpb.LeaseRevokeRequest'),
  revokeResponse: protoJson('etcdserverpb.LeaseRevokeResponse'),
  keepAliveRequest: protoJson('etcdserverpb.LeaseKeepAliveRequest'),
  keepAliveResponse: protoJson('etcdserverpb.LeaseKeepAliveResponse'),
  timeToLiveRequest: protoJson('etcdserverpb.LeaseTimeToLiveRequest'),
  timeToLiveResponse: protoJson('etcdserverpb.LeaseTimeToLiveResponse'),
  leasesRequest: protoJson('etcdserverpb.LeaseLeasesRequest'),
  leasesResponse: protoJson('etcdserverpb.LeaseLeasesResponse'),
};

function header(context: ApiContext, revision = context.backend.store.revision): JsonBody {
  return headerModel(responseHeaderSource(context.backend), revision);
}

/** A lease id as kv-node keeps it: the int64 as a decimal string (`NO_LEASE` for 0). */
function leaseIdOf(decoded: DecodedMessage): LeaseId {
  return String(decoded.ID);
}

/** The id and TTL a grant asks for: the TTL raised to the minimum, as etcd's lessor does. */
function grantTtl(context: ApiContext, asked: bigint): number {
  if (asked > BigInt(MAX_LEASE_TTL_SECONDS)) throw leaseError('leaseTtlTooLarge');
  const minimum = context.minLeaseTtlSeconds ?? DEFAULT_MIN_LEASE_TTL_SECONDS;
  return asked < BigInt(minimum) ? minimum : Number(asked);
}

/**
 * A `LeaseGrantRequest` (`{TTL, ID}`, decoded; ID 0: this member picks one) through the log, and
 * its response. Shared by the JSON gateway and the gRPC Lease service, as are the functions below.
 *
 * @throws ApiError with etcd's lease errors (exists, too large a TTL, too many leases).
 */
export async function leaseGrantResponse(
  context: ApiContext,
  body: unknown,
  credentials: RequestCredentials,
): Promise<JsonBody> {
  const decoded = messages.grantRequest.decode(body);
  const ttlSeconds = grantTtl(context, BigInt(decoded.TTL as number | string));
  let id = leaseIdOf(decoded);
  const user = context.auth.authorize(context.backend.auth, credentials, () => []);
  if (id === NO_LEASE) id = leaseIdFromRandomBytes(randomBytes(8));
  const result = await replicateLease(context, { op: 'grant', id, ttlSeconds }, user);
  if (result.error !== undefined) throw leaseError(result.error);
  return messages.grantResponse.encode({
    header: header(context, result.revision),
    ID: result.id,
    TTL: result.ttlSeconds,
  });
}

/**
 * A `LeaseRevokeRequest` (`{ID}`) through the log (deleting the lease's keys in one revision).
 *
 * @throws ApiError "etcdserver: requested lease not found".
 */
export async function leaseRevokeResponse(
  context: ApiContext,
  body: unknown,
  credentials: RequestCredentials,
): Promise<JsonBody> {
  const id = leaseIdOf(messages.revokeRequest.decode(body));
  const user = context.auth.authorize(context.backend.auth, credentials, () => []);
  if (id === NO_LEASE) throw leaseError('leaseNotFound');
  const result = await replicateLease(context, { op: 'revoke', id, expired: false }, user);
  if (result.error !== undefined) throw leaseError(result.error);
  return messages.revokeResponse.encode({ header: header(context, result.revision) });
}

/**
 * One `LeaseKeepAliveRequest` (`{ID}`) answered: the lease renewed on the leader, with no TTL
 * (TTL 0) when the lease does not exist, which is how etcd says so on the keep-alive stream.
 */
export async function leaseKeepAliveResponse(
  context: ApiContext,
  body: unknown,
  credentials: RequestCredentials,
): Promise<JsonBody> {
  const id = leaseIdOf(messages.keepAliveRequest.decode(body));
  context.auth.authorize(context.backend.auth, credentials, () => []);
  const answer =
    id === NO_LEASE ? undefined : await context.backend.leaseQuery({ op: 'keepAlive', id });
  return messages.keepAliveResponse.encode({
    header: header(context),
    ID: id,
    TTL: answer?.grantedSeconds,
  });
}

/** A `LeaseTimeToLiveRequest` (`{ID, keys}`) answered; TTL "-1" when the lease does not exist. */
export async function leaseTimeToLiveResponse(
  context: ApiContext,
  body: unknown,
  credentials: RequestCredentials,
): Promise<JsonBody> {
  const decoded = messages.timeToLiveRequest.decode(body);
  const id = leaseIdOf(decoded);
  context.auth.authorize(context.backend.auth, credentials, () => []);
  const answer =
    id === NO_LEASE ? undefined : await context.backend.leaseQuery({ op: 'timeToLive', id });
  if (answer === undefined) {
    return messages.timeToLiveResponse.encode({ header: header(context), ID: id, TTL: -1 });
  }
  // The leader answered after catching up; this member's table must be as fresh for the keys.
  if (decoded.keys === true) await readBarrier(context);
  return messages.timeToLiveResponse.encode({
    header: header(context),
    ID: id,
    TTL: answer.remainingSeconds,
    grantedTTL: answer.grantedSeconds,
    keys: decoded.keys === true ? context.backend.leases.keysOf(id) : [],
  });
}

/** A `LeaseLeasesRequest` answered: every lease's id, from a linearizable read of the table. */
export async function leaseLeasesResponse(
  context: ApiContext,
  body: unknown,
  credentials: RequestCredentials,
): Promise<JsonBody> {
  messages.leasesRequest.decode(body);
  await readBarrier(context);
  context.auth.authorize(context.backend.auth, credentials, () => []);
  const leases = context.backend.leases.list();
  return messages.leasesResponse.encode({
    header: header(context),
    leases: leases.map((lease) => ({ ID: lease.id })),
  });
}

/** A route answering the JSON body with what `respond` makes of it. */
function jsonRoute(
  respond: (
    context: ApiContext,
    body: unknown,
    credentials: RequestCredentials,
  ) => Promise<JsonBody>,
): Handler {
  return async (context, exchange) => {
    const body = await exchange.readJson(context.limits.maxRequestBytes);
    exchange.json(200, await respond(context, body, exchange));
  };
}

/** POST /v3/lease/grant: see {@link leaseGrantResponse}. */
export const leaseGrant: Handler = jsonRoute(leaseGrantResponse);

/** POST /v3/lease/revoke: see {@link leaseRevokeResponse}. */
export const leaseRevoke: Handler = jsonRoute(leaseRevokeResponse);

/**
 * POST /v3/lease/keepalive: `{ID}`; answered as etcd's gateway answers its one-message stream:
 * one line `{"result": {...}}` (see {@link leaseKeepAliveResponse}).
 */
export async function leaseKeepAlive(context: ApiContext, exchange: Exchange): Promise<void> {
  const body = await exchange.readJson(context.limits.maxRequestBytes);
  const result = await leaseKeepAliveResponse(context, body, exchange);
  exchange.send(200, `${JSON.stringify({ result })}\n`, { 'content-type': 'application/json' });
}

/** POST /v3/lease/timetolive: see {@link leaseTimeToLiveResponse}. */
export const leaseTimeToLive: Handler = jsonRoute(leaseTimeToLiveResponse);

/** POST /v3/lease/leases: see {@link leaseLeasesResponse}. */
export const leaseLeases: Handler = jsonRoute(leaseLeasesResponse);

/** Every lease route, by path (all POST), with the `/v3/kv/lease/*` aliases. */
export const LEASE_ROUTES: readonly (readonly [string, Handler])[] = [
  ['/v3/lease/grant', leaseGrant],
  ['/v3/lease/revoke', leaseRevoke],
  ['/v3/kv/lease/revoke', leaseRevoke],
  ['/v3/lease/keepalive', leaseKeepAlive],
  ['/v3/lease/timetolive', leaseTimeToLive],
  ['/v3/kv/lease/timetolive', leaseTimeToLive],
  ['/v3/lease/leases', leaseLeases],
  ['/v3/kv/lease/leases', leaseLeases],
];
