/**
 * etcd 3.4's gateway routes for history compaction (`POST /v3/kv/compaction`) and alarms
 * (`POST /v3/maintenance/alarm`). Both go through the replicated log, so every member compacts
 * at the same revision and sees the same alarms.
 */

import type { AlarmMember } from '../store/maintenance-command.js';
import type { ApiContext } from './api-context.js';
import { badRequest } from './api-error.js';
import { responseHeader } from './etcd-json.js';
import type { JsonBody } from './etcd-json.js';
import type { Exchange } from './exchange.js';
import { FieldReader } from './json-fields.js';
import { readBarrier, replicateMaintenance } from './kv-operations.js';
import { responseHeaderSource } from './response-header-source.js';
import { CompactedRevisionError, FutureRevisionError } from '../store/revision-errors.js';
import { revisionApiError } from './revision-api-errors.js';

const ALARM_ACTIONS = ['GET', 'ACTIVATE', 'DEACTIVATE'] as const;
const ALARM_TYPES = ['NONE', 'NOSPACE', 'CORRUPT'] as const;
const MAX_MEMBER_ID = 2n ** 64n - 1n;

/**
 * A `CompactionRequest` (`{revision, physical}`, decoded) through the log; its response (the
 * header) once applied. Shared by the JSON gateway and the gRPC KV service.
 *
 * @throws ApiError OUT_OF_RANGE (etcd's words) for a compacted or a future revision.
 */
export async function compactionResponse(context: ApiContext, body: unknown): Promise<JsonBody> {
  const fields = new FieldReader(body);
  const revision = fields.integer('revision');
  const physical = fields.boolean('physical');
  fields.rejectUnknown();
  const result = await replicateMaintenance(context, { kind: 'compact', revision, physical });
  if (result.error !== undefined) {
    const error =
      result.error === 'compacted'
        ? new CompactedRevisionError(revision, 0)
        : new FutureRevisionError(revision);
    throw revisionApiError(error) ?? error;
  }
  return { header: responseHeader(responseHeaderSource(context.backend), result.revision) };
}

/** POST /v3/kv/compaction: `{revision, physical}`; answers the header once applied. */
export async function v3Compaction(context: ApiContext, exchange: Exchange): Promise<void> {
  const body = await exchange.readJson(context.limits.maxRequestBytes);
  exchange.json(200, await compactionResponse(context, body));
}

/** An enum field as etcd's gateway reads it: by name or number, with its error message. */
function enumField<T extends string>(
  fields: FieldReader,
  protoName: string,
  names: readonly T[],
  protoType: string,
): T {
  const value = fields.raw(protoName);
  if (value === undefined) return names[0] as T;
  const name = typeof value === 'number' ? names[value] : names.find((known) => known === value);
  if (name === undefined) {
    throw badRequest(
      `unknown value ${JSON.stringify(value)} for enum ${protoType}`,
      fields.fieldName(protoName),
    );
  }
  return name;
}

function memberIdOf(fields: FieldReader): string {
  const value = fields.raw('memberID');
  if (value === undefined) return '0';
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text !== 'string' || !/^\d{1,20}$/.test(text) || BigInt(text) > MAX_MEMBER_ID) {
    throw badRequest('memberID must be an unsigned 64-bit integer', 'memberID');
  }
  return BigInt(text).toString();
}

/** etcd's shape of alarm members: a NONE alarm is left out, as a zero enum is. */
function alarmsJson(alarms: readonly AlarmMember[]): JsonBody {
  if (alarms.length === 0) return {};
  return {
    alarms: alarms.map((member) => ({
      memberID: member.memberId,
      ...(member.alarm === 'NONE' ? {} : { alarm: member.alarm }),
    })),
  };
}

/**
 * An `AlarmRequest` (`{action: GET|ACTIVATE|DEACTIVATE, memberID, alarm}`, decoded) and its
 * response: GET lists the raised alarms (a linearizable read); the others go through the log.
 * As in etcd 3.4, the response has no header. Shared by the JSON gateway and gRPC Maintenance.
 */
export async function alarmResponse(context: ApiContext, body: unknown): Promise<JsonBody> {
  const fields = new FieldReader(body);
  const action = enumField(
    fields,
    'action',
    ALARM_ACTIONS,
    'etcdserverpb.AlarmRequest_AlarmAction',
  );
  const memberId = memberIdOf(fields);
  const alarm = enumField(fields, 'alarm', ALARM_TYPES, 'etcdserverpb.AlarmType');
  fields.rejectUnknown();
  if (action === 'GET') {
    await readBarrier(context);
    return alarmsJson(context.backend.alarms.list());
  }
  const result = await replicateMaintenance(context, {
    kind: 'alarm',
    action: action === 'ACTIVATE' ? 'activate' : 'deactivate',
    member: { memberId, alarm },
  });
  return alarmsJson(result.alarms);
}

/** A uint64 field of a response: omitted when zero or unknown, as protobuf's JSON omits zeros. */
function nonZero(value: number | string | undefined): string | undefined {
  return value === undefined || value === 0 || value === '0' ? undefined : String(value);
}

/**
 * A `StatusResponse` from this member's view, with etcd's field names (lowerCamel in etcd's
 * .proto, so in the gateway's JSON too): `raftIndex` is the committed index (etcd reports its
 * raft committed index there), `dbSize` and `dbSizeInUse` the store's accounted size (what
 * `--quota-backend-bytes` checks; kv-node has no free pages, so both are the same), `errors`
 * the missing leader and the raised alarms. Shared by the JSON gateway and gRPC Maintenance.
 */
export function statusResponse(context: ApiContext): JsonBody {
  const status = context.backend.status();
  const dbSize = nonZero(context.backend.store.accountedBytes);
  // etcd lists "no leader" and every raised alarm, as Go prints an AlarmMember.
  const errors = [
    ...(status.leaderId === undefined ? ['etcdserver: no leader'] : []),
    ...context.backend.alarms
      .list()
      .map(
        (member) =>
          `memberID:${member.memberId} ${member.alarm === 'NONE' ? '' : `alarm:${member.alarm} `}`,
      ),
  ];
  return {
    header: responseHeader(responseHeaderSource(context.backend), context.backend.store.revision),
    version: context.version,
    dbSize,
    leader: nonZero(status.leaderId),
    raftIndex: nonZero(status.highWaterMark),
    raftTerm: nonZero(status.generation),
    raftAppliedIndex: nonZero(status.appliedIndex),
    errors: errors.length === 0 ? undefined : errors,
    dbSizeInUse: dbSize,
  };
}

/** POST /v3/maintenance/status: see {@link statusResponse}. */
export async function v3Status(context: ApiContext, exchange: Exchange): Promise<void> {
  await exchange.readJson(context.limits.maxRequestBytes);
  exchange.json(200, statusResponse(context));
}

/** POST /v3/maintenance/alarm: see {@link alarmResponse}. */
export async function v3Alarm(context: ApiContext, exchange: Exchange): Promise<void> {
  const body = await exchange.readJson(context.limits.maxRequestBytes);
  exchange.json(200, await alarmResponse(context, body));
}
