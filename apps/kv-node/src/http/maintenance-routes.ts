/**
 * etcd 3.4's gateway routes for history compaction (`POST /v3/kv/compaction`) and alarms
 * (`POST /v3/maintenance/alarm`). Both go through the replicated log, so every member compacts
 * at the same revision and sees the same alarms.
 */

import type { AlarmMember, AlarmType } from '../store/maintenance-command.js';
import type { ApiContext } from './api-context.js';
import { badRequest } from './api-error.js';
import { headerModel } from './etcd-json.js';
import type { JsonBody } from './etcd-json.js';
import type { Exchange } from './exchange.js';
import { readBarrier, replicateMaintenance } from './kv-operations.js';
import { protoJson } from './proto-json.js';
import { responseHeaderSource } from './response-header-source.js';
import { CompactedRevisionError, FutureRevisionError } from '../store/revision-errors.js';
import { revisionApiError } from './revision-api-errors.js';

/** The messages read and written here, from etcd's protos. */
const messages = {
  compactionRequest: protoJson('etcdserverpb.CompactionRequest'),
  compactionResponse: protoJson('etcdserverpb.CompactionResponse'),
  alarmRequest: protoJson('etcdserverpb.AlarmRequest'),
  alarmResponse: protoJson('etcdserverpb.AlarmResponse'),
  statusResponse: protoJson('etcdserverpb.StatusResponse'),
};

/**
 * A `CompactionRequest` (`{revision, physical}`, decoded) through the log; its response (the
 * header) once applied. Shared by the JSON gateway and the gRPC KV service.
 *
 * @throws ApiError OUT_OF_RANGE (etcd's words) for a compacted or a future revision.
 */
export async function compactionResponse(context: ApiContext, body: unknown): Promise<JsonBody> {
  const decoded = messages.compactionRequest.decode(body);
  const revision = decoded.revision;
  if (typeof revision !== 'number' || revision < 0) {
    throw badRequest('revision must be a non-negative integer', 'revision');
  }
  const physical = decoded.physical as boolean;
  const result = await replicateMaintenance(context, { kind: 'compact', revision, physical });
  if (result.error !== undefined) {
    const error =
      result.error === 'compacted'
        ? new CompactedRevisionError(revision, 0)
        : new FutureRevisionError(revision);
    throw revisionApiError(error) ?? error;
  }
  return messages.compactionResponse.encode({
    header: headerModel(responseHeaderSource(context.backend), result.revision),
  });
}

/** POST /v3/kv/compaction: `{revision, physical}`; answers the header once applied. */
export async function v3Compaction(context: ApiContext, exchange: Exchange): Promise<void> {
  const body = await exchange.readJson(context.limits.maxRequestBytes);
  exchange.json(200, await compactionResponse(context, body));
}

/** etcd's shape of alarm members: a NONE alarm is left out, as a zero enum is. */
function alarmsJson(alarms: readonly AlarmMember[]): JsonBody {
  return messages.alarmResponse.encode({
    alarms: alarms.map((member) => ({ memberID: member.memberId, alarm: member.alarm })),
  });
}

/**
 * An `AlarmRequest` (`{action: GET|ACTIVATE|DEACTIVATE, memberID, alarm}`, decoded) and its
 * response: GET lists the raised alarms (a linearizable read); the others go through the log.
 * As in etcd 3.4, the response has no header. Shared by the JSON gateway and gRPC Maintenance.
 */
export async function alarmResponse(context: ApiContext, body: unknown): Promise<JsonBody> {
  const decoded = messages.alarmRequest.decode(body);
  const action = decoded.action as 'GET' | 'ACTIVATE' | 'DEACTIVATE';
  const memberId = String(decoded.memberID);
  const alarm = decoded.alarm as AlarmType;
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

/**
 * A `StatusResponse` from this member's view, with etcd's field names (lowerCamel in etcd's
 * .proto, so in the gateway's JSON too): `raftIndex` is the committed index (etcd reports its
 * raft committed index there), `dbSize` and `dbSizeInUse` the LMDB state file's size and
 * the part of it in use with `--backend lmdb`, else the store's accounted size (what
 * `--quota-backend-bytes` checks; the heap has no free pages, so both are the same), `errors`
 * the missing leader and the raised alarms. Shared by the JSON gateway and gRPC Maintenance.
 */
export function statusResponse(context: ApiContext): JsonBody {
  const status = context.backend.status();
  const accounted = context.backend.store.accountedBytes;
  const disk = context.backend.diskUsage?.();
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
  return messages.statusResponse.encode({
    header: headerModel(responseHeaderSource(context.backend), context.backend.store.revision),
    version: context.version,
    dbSize: disk?.fileBytes ?? accounted,
    leader: status.leaderId,
    raftIndex: status.highWaterMark,
    raftTerm: status.generation,
    raftAppliedIndex: status.appliedIndex,
    errors,
    dbSizeInUse: disk?.inUseBytes ?? accounted,
  });
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
