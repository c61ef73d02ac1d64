/** etcd's Maintenance service: Status and the alarm list now, the rest with later work. */

import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import type { ApiContext } from '../http/api-context.js';
import { badRequest } from '../http/api-error.js';
import type { JsonBody } from '../http/etcd-json.js';
import { responseHeader } from '../http/etcd-json.js';
import { FieldReader } from '../http/json-fields.js';
import { responseHeaderSource } from '../http/response-header-source.js';
import { unary, unimplemented } from './grpc-call.js';

function header(context: ApiContext): JsonBody {
  return responseHeader(responseHeaderSource(context.backend), context.backend.store.revision);
}

/** A uint64 status field: omitted when zero or unknown, as protobuf omits zero values. */
function nonZero(value: number | string | undefined): string | undefined {
  return value === undefined || value === 0 || value === '0' ? undefined : String(value);
}

/**
 * `StatusResponse` from this member's view (etcd's field names are lowerCamel in the .proto).
 * `raftIndex` is the high-water mark (etcd reports its committed index there).
 */
function statusResponse(context: ApiContext): JsonBody {
  const status = context.backend.status();
  return {
    header: header(context),
    version: context.version,
    leader: nonZero(status.leaderId),
    raftIndex: nonZero(status.commitIndex),
    raftTerm: nonZero(status.generation),
    raftAppliedIndex: nonZero(status.appliedIndex),
  };
}

const ALARM_ACTIONS = ['GET', 'ACTIVATE', 'DEACTIVATE'];

/**
 * kv-node raises no alarms (it has no space quota and checks no corruption in the background),
 * so the list is always empty and there is nothing to deactivate. Raising one by hand is not
 * supported: it would stop writes with nothing to clear it but a second call.
 */
function alarm(context: ApiContext, body: unknown): JsonBody {
  const fields = new FieldReader(body);
  const action = fields.enumeration('action', ALARM_ACTIONS, ALARM_ACTIONS);
  fields.raw('memberID');
  fields.raw('alarm');
  fields.rejectUnknown();
  if (action === 'ACTIVATE') {
    throw badRequest('kv-node raises no alarms, and an alarm cannot be raised by hand', 'action');
  }
  return { header: header(context) };
}

const LATER = (what: string, work: string): string =>
  `etcdserver: ${what} is not implemented by kv-node yet; it comes with the ${work}`;

/** The handlers of `etcdserverpb.Maintenance`. */
export function maintenanceService(context: ApiContext): UntypedServiceImplementation {
  return {
    // etcd answers Status without an auth check (`etcdctl endpoint status` needs no user).
    Status: unary(context, () => statusResponse(context)),
    Alarm: unary(context, (body, credentials) => {
      context.auth.authorizeAdmin(context.backend.auth, credentials);
      return alarm(context, body);
    }),
    HashKV: unimplemented(LATER('HashKV', 'history (MVCC) work')),
    Hash: unimplemented(LATER('Hash', 'history (MVCC) work')),
    Defragment: unimplemented(LATER('Defragment', 'storage work')),
    Snapshot: unimplemented(LATER('Snapshot', 'backup and restore work')),
    MoveLeader: unimplemented(LATER('MoveLeader', 'leadership transfer work')),
  };
}
