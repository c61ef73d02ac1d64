/**
 * etcd's Maintenance service: Status, Alarm (the replicated alarm table that NOSPACE raises,
 * shared with `/v3/maintenance/alarm`), HashKV, MoveLeader, Defragment and Snapshot
 * (`snapshot-stream.ts`); not Hash, which etcd deprecates for HashKV.
 */

import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { ApiContext } from '../http/api-context.js';
import type { JsonBody } from '../http/etcd-json.js';
import { responseHeader } from '../http/etcd-json.js';
import { alarmResponse, statusResponse } from '../http/maintenance-routes.js';
import { responseHeaderSource } from '../http/response-header-source.js';
import { revisionErrorsAsApiErrors } from '../http/revision-api-errors.js';
import { hashKeyValues } from '../store/kv-hash.js';
import { unary, unimplemented } from './grpc-call.js';
import { grpcError } from './grpc-errors.js';
import { snapshotStream } from './snapshot-stream.js';

function header(context: ApiContext): JsonBody {
  return responseHeader(responseHeaderSource(context.backend), context.backend.store.revision);
}

/** A uint64 status field: omitted when zero or unknown, as protobuf omits zero values. */
function nonZero(value: number | string | undefined): string | undefined {
  return value === undefined || value === 0 || value === '0' ? undefined : String(value);
}

/** The `revision` of a HashKVRequest (an int64 as a decimal string, absent when 0). */
function requestedRevision(body: unknown): number {
  const revision = Number((body as { revision?: unknown }).revision ?? 0);
  return Number.isSafeInteger(revision) ? revision : 0;
}

/**
 * `HashKVResponse`: this member's hash of its key space up to the revision asked for (the
 * current one for 0), equal on every member at the same revision (see `store/kv-hash.ts`).
 * `hash_revision` is etcd 3.5's field (4): etcdctl 3.4 ignores it.
 */
function hashKvResponse(context: ApiContext, body: unknown): JsonBody {
  const store = context.backend.store;
  const hashed = revisionErrorsAsApiErrors(() => hashKeyValues(store, requestedRevision(body)));
  return {
    header: header(context),
    hash: hashed.hash === 0 ? undefined : hashed.hash,
    compact_revision: nonZero(hashed.compactRevision),
    hash_revision: nonZero(hashed.hashRevision),
  };
}

/** How often MoveLeader looks whether the target leads yet, in ms. */
const LEADER_POLL_MS = 20;

/**
 * MoveLeader: hands leadership to `targetID` and answers once it leads, with etcd's errors: not
 * the leader (FAILED_PRECONDITION "etcdserver: not leader"), no such member ("etcdserver: bad
 * leader transferee"), not done within the operation timeout (UNAVAILABLE, etcd's text).
 */
async function moveLeaderResponse(context: ApiContext, body: unknown): Promise<JsonBody> {
  const requested = (body as { targetID?: unknown }).targetID;
  const target = typeof requested === 'string' ? requested : '0';
  const started = (await context.backend.transferLeadership?.(target)) ?? 'not_leader';
  if (started === 'not_leader') {
    throw grpcError(GrpcStatus.FAILED_PRECONDITION, 'etcdserver: not leader');
  }
  if (started === 'bad_transferee') {
    throw grpcError(GrpcStatus.FAILED_PRECONDITION, 'etcdserver: bad leader transferee');
  }
  let waitedMs = 0;
  while (context.backend.status().leaderId !== target) {
    if (waitedMs >= context.operationTimeoutMs) {
      throw grpcError(
        GrpcStatus.UNAVAILABLE,
        'etcdserver: request timed out, leader transfer took too long',
      );
    }
    await new Promise<void>((resolve) => context.timers.setTimeout(resolve, LEADER_POLL_MS));
    waitedMs += LEADER_POLL_MS;
  }
  return { header: header(context) };
}

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
    // etcd keeps HashKV, MoveLeader, Defragment and Snapshot to admins (when auth is on).
    HashKV: unary(context, (body, credentials) => {
      context.auth.authorizeAdmin(context.backend.auth, credentials);
      return hashKvResponse(context, body);
    }),
    // Deprecated by etcd in favour of HashKV, which kv-node serves.
    Hash: unimplemented('etcdserver: Hash is not implemented by kv-node; use HashKV'),
    Defragment: unary(context, (_body, credentials) => {
      context.auth.authorizeAdmin(context.backend.auth, credentials);
      // The store lives in memory and the WAL and snapshots are rewritten whole: no free pages
      // to give back, so there is nothing to defragment.
      return { header: header(context) };
    }),
    Snapshot: snapshotStream(context),
    MoveLeader: unary(context, (body, credentials) => {
      context.auth.authorizeAdmin(context.backend.auth, credentials);
      return moveLeaderResponse(context, body);
    }),
  };
}
