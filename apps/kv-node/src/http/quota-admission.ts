/**
 * etcd's backend quota (`--quota-backend-bytes`): a write that adds data is admitted only while
 * the store's accounted size is within the quota. Past it, the member raises the NOSPACE alarm
 * through the log (so every member refuses such writes, see `KvStateMachine`) and the write gets
 * "database space exceeded", until compaction frees space and an operator disarms the alarm.
 */

import type { KvCommand } from '../codec/command-codec.js';
import { opsAddData } from '../store/kv-types.js';
import type { MaintenanceCommand } from '../store/maintenance-command.js';
import type { ApiContext } from './api-context.js';
import { ApiError, GrpcCode } from './api-error.js';

/** etcd's answer to a write refused for space: 429 with gRPC ResourceExhausted. */
export function noSpace(): ApiError {
  return new ApiError('etcdserver: mvcc: database space exceeded', {
    reason: 'no_space',
    status: 429,
    grpcCode: GrpcCode.resourceExhausted,
    definite: true,
  });
}

/** Whether a command adds data (a put at any depth), which the quota limits, as in etcd. */
export function addsData(command: KvCommand): boolean {
  if (command.type === 'put') return true;
  if (command.type !== 'txn') return false;
  return opsAddData(command.request.success) || opsAddData(command.request.failure);
}

/**
 * The alarm to raise before refusing `command` for space, `null` to refuse it without raising
 * one (already raised), or `undefined` to admit it (within the quota, or it adds no data).
 */
export function quotaRefusal(
  context: ApiContext,
  command: KvCommand,
): MaintenanceCommand | null | undefined {
  const quota = context.quotaBackendBytes;
  if (quota === undefined || !addsData(command)) return undefined;
  if (context.backend.store.accountedBytes <= quota) return undefined;
  if (context.backend.alarms.has('NOSPACE')) return null;
  const memberId = context.backend.status().memberId;
  return { kind: 'alarm', action: 'activate', member: { memberId, alarm: 'NOSPACE' } };
}
