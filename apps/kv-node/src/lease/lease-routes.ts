/**
 * etcd 3.4's lease routes on the JSON gateway (`/v3/lease/*` and the `/v3/kv/lease/*` aliases it
 * also serves), in its shapes: int64s as decimal strings, zero fields omitted, keep-alive answered
 * as one line of its stream (`{"result": {...}}`). Grant and revoke go through the log;
 * keep-alive and time-to-live ask the leader's lease clock.
 */

import { randomBytes } from 'node:crypto';
import type { ApiContext } from '../http/api-context.js';
import { badRequest } from '../http/api-error.js';
import { responseHeader } from '../http/etcd-json.js';
import type { Exchange } from '../http/exchange.js';
import { FieldReader } from '../http/json-fields.js';
import { linearize, replicateLease } from '../http/kv-operations.js';
import { responseHeaderSource } from '../http/response-header-source.js';
import { base64FromByteString } from '../store/byte-string.js';
import { leaseError } from './lease-errors.js';
import type { LeaseId } from './lease-id.js';
import { NO_LEASE, leaseIdFromRandomBytes, parseLeaseId } from './lease-id.js';
import { MAX_LEASE_TTL_SECONDS } from './lease-limits.js';

type Handler = (context: ApiContext, exchange: Exchange) => Promise<void>;

/** etcd's minimum TTL with its default timing (heartbeat 100 ms, election 1000 ms). */
export const DEFAULT_MIN_LEASE_TTL_SECONDS = 2;

function header(context: ApiContext, revision = context.backend.store.revision): unknown {
  return responseHeader(responseHeaderSource(context.backend), revision);
}

/** An int64 field (number or decimal string; negative allowed), `0n` when absent. */
function int64Field(fields: FieldReader, protoName: string): bigint {
  const value = fields.raw(protoName);
  if (value === undefined) return 0n;
  const canonical = parseLeaseId(value);
  if (canonical === undefined) {
    throw badRequest(
      `${fields.fieldName(protoName)} must be a 64-bit integer`,
      fields.fieldName(protoName),
    );
  }
  return BigInt(canonical);
}

function leaseIdField(fields: FieldReader): LeaseId {
  return int64Field(fields, 'ID').toString();
}

/** The id and TTL a grant asks for: the TTL raised to the minimum, as etcd's lessor does. */
function grantTtl(context: ApiContext, asked: bigint): number {
  if (asked > BigInt(MAX_LEASE_TTL_SECONDS)) throw leaseError('leaseTtlTooLarge');
  const minimum = context.minLeaseTtlSeconds ?? DEFAULT_MIN_LEASE_TTL_SECONDS;
  return asked < BigInt(minimum) ? minimum : Number(asked);
}

/** POST /v3/lease/grant: `{TTL, ID}` (ID 0: this member picks one). */
export async function leaseGrant(context: ApiContext, exchange: Exchange): Promise<void> {
  const fields = new FieldReader(await exchange.readJson(context.limits.maxRequestBytes));
  const ttlSeconds = grantTtl(context, int64Field(fields, 'TTL'));
  let id = leaseIdField(fields);
  fields.rejectUnknown();
  const user = context.auth.authorize(context.backend.auth, exchange, () => []);
  if (id === NO_LEASE) id = leaseIdFromRandomBytes(randomBytes(8));
  const result = await replicateLease(context, { op: 'grant', id, ttlSeconds }, user);
  if (result.error !== undefined) throw leaseError(result.error);
  exchange.json(200, {
    header: header(context, result.revision),
    ID: result.id,
    TTL: String(result.ttlSeconds),
  });
}

/** POST /v3/lease/revoke: `{ID}`; deletes the lease's keys in one revision. */
export async function leaseRevoke(context: ApiContext, exchange: Exchange): Promise<void> {
  const fields = new FieldReader(await exchange.readJson(context.limits.maxRequestBytes));
  const id = leaseIdField(fields);
  fields.rejectUnknown();
  const user = context.auth.authorize(context.backend.auth, exchange, () => []);
  if (id === NO_LEASE) throw leaseError('leaseNotFound');
  const result = await replicateLease(context, { op: 'revoke', id, expired: false }, user);
  if (result.error !== undefined) throw leaseError(result.error);
  exchange.json(200, { header: header(context, result.revision) });
}

/**
 * POST /v3/lease/keepalive: `{ID}`; renews the lease on the leader. Answered as etcd's gateway
 * answers its one-message stream: one line `{"result": {...}}`, with no TTL when the lease does
 * not exist (etcd's way of saying so on the stream).
 */
export async function leaseKeepAlive(context: ApiContext, exchange: Exchange): Promise<void> {
  const fields = new FieldReader(await exchange.readJson(context.limits.maxRequestBytes));
  const id = leaseIdField(fields);
  fields.rejectUnknown();
  context.auth.authorize(context.backend.auth, exchange, () => []);
  const answer =
    id === NO_LEASE ? undefined : await context.backend.leaseQuery({ op: 'keepAlive', id });
  const result: Record<string, unknown> = { header: header(context) };
  if (id !== NO_LEASE) result.ID = id;
  if (answer !== undefined) result.TTL = String(answer.grantedSeconds);
  exchange.send(200, `${JSON.stringify({ result })}\n`, { 'content-type': 'application/json' });
}

/** POST /v3/lease/timetolive: `{ID, keys}`; TTL "-1" when the lease does not exist. */
export async function leaseTimeToLive(context: ApiContext, exchange: Exchange): Promise<void> {
  const fields = new FieldReader(await exchange.readJson(context.limits.maxRequestBytes));
  const id = leaseIdField(fields);
  const withKeys = fields.boolean('keys');
  fields.rejectUnknown();
  context.auth.authorize(context.backend.auth, exchange, () => []);
  const answer =
    id === NO_LEASE ? undefined : await context.backend.leaseQuery({ op: 'timeToLive', id });
  const body: Record<string, unknown> = { header: header(context) };
  if (id !== NO_LEASE) body.ID = id;
  if (answer === undefined) {
    body.TTL = '-1';
    exchange.json(200, body);
    return;
  }
  if (answer.remainingSeconds !== 0) body.TTL = String(answer.remainingSeconds);
  body.grantedTTL = String(answer.grantedSeconds);
  if (withKeys) {
    // The leader answered after catching up; this member's table must be as fresh for the keys.
    await linearize(context);
    const keys = context.backend.leases.keysOf(id);
    if (keys.length > 0) body.keys = keys.map(base64FromByteString);
  }
  exchange.json(200, body);
}

/** POST /v3/lease/leases: every lease's id, from a linearizable read of the table. */
export async function leaseLeases(context: ApiContext, exchange: Exchange): Promise<void> {
  const fields = new FieldReader(await exchange.readJson(context.limits.maxRequestBytes));
  fields.rejectUnknown();
  await linearize(context);
  context.auth.authorize(context.backend.auth, exchange, () => []);
  const leases = context.backend.leases.list();
  const body: Record<string, unknown> = { header: header(context) };
  if (leases.length > 0) body.leases = leases.map((lease) => ({ ID: lease.id }));
  exchange.json(200, body);
}

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
