/**
 * etcd's Maintenance service: Status, and Alarm (the replicated alarm table that NOSPACE raises,
 * shared with `/v3/maintenance/alarm`) now; the rest with later work.
 */

import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import type { ApiContext } from '../http/api-context.js';
import type { JsonBody } from '../http/etcd-json.js';
import { responseHeader } from '../http/etcd-json.js';
import { alarmResponse } from '../http/maintenance-routes.js';
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

const LATER = (what: string, work: string): string =>
  `etcdserver: ${what} is not implemented by kv-node yet; it comes with the ${work}`;

/** The handlers of `etcdserverpb.Maintenance`. */
export function maintenanceService(context: ApiContext): UntypedServiceImplementation {
  return {
    // etcd answers Status without an auth check (`etcdctl endpoint status` needs no user).
    Status: unary(context, () => statusResponse(context)),
    Alarm: unary(context, (body, credentials) => {
      // Raising or clearing an alarm stops or restarts writes: kept to admins, as before.
      context.auth.authorizeAdmin(context.backend.auth, credentials);
      return alarmResponse(context, body);
    }),
    HashKV: unimplemented(LATER('HashKV', 'history (MVCC) work')),
    Hash: unimplemented(LATER('Hash', 'history (MVCC) work')),
    Defragment: unimplemented(LATER('Defragment', 'storage work')),
    Snapshot: unimplemented(LATER('Snapshot', 'backup and restore work')),
    MoveLeader: unimplemented(LATER('MoveLeader', 'leadership transfer work')),
  };
}
