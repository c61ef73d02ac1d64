/**
 * The check every member makes when it applies a write while auth is enabled (etcd's
 * `authApplierV3`): the command's user must still be allowed what the command does, by the auth
 * state as of this point in the log. The member that received the request checked it too, but
 * against its own replica at that moment; between that check and this apply a permission may have
 * been revoked, a user deleted, or auth enabled. Deterministic: it reads only the replicated state.
 */

import type { KvCommand } from '../codec/command-codec.js';
import type { AuthErrorName } from './auth-errors.js';
import type { AuthState } from './auth-state.js';
import type { PermissionNeed } from './request-permissions.js';
import { deleteRangeNeeds, putNeeds, txnNeeds } from './request-permissions.js';

function needsOf(command: KvCommand): PermissionNeed[] | 'admin' {
  switch (command.type) {
    case 'put':
      return putNeeds(command.request);
    case 'deleteRange':
      return deleteRangeNeeds(command.request);
    case 'txn':
      return txnNeeds(command.request);
    case 'auth':
      return 'admin';
    case 'lease':
      // Grants need only an authenticated user; a revoke's need (write on every attached key)
      // depends on the lease table and is checked where it is applied (`lease/lease-apply.ts`).
      return [];
    case 'maintenance':
      // Never reached: maintenance commands are let through before their needs are asked.
      return [];
  }
}

/**
 * Why `command` must not be applied now, or `undefined` when it may (always, while auth is
 * disabled).
 */
export function refusalOnApply(state: AuthState, command: KvCommand): AuthErrorName | undefined {
  if (!state.enabled) return undefined;
  // The leader's revoke of an expired lease is the cluster's own decision, made as no user (the
  // routes never propose one: clients revoke with `expired` false).
  if (command.type === 'lease' && command.request.op === 'revoke' && command.request.expired) {
    return undefined;
  }
  // Compaction and alarms need no key permission in etcd, and the leader proposes them itself.
  if (command.type === 'maintenance') return undefined;
  const user = command.user;
  if (user === undefined || user === '') return 'userEmpty';
  const needs = needsOf(command);
  if (needs === 'admin') return state.isRoot(user) ? undefined : 'permissionDenied';
  for (const need of needs) {
    if (!state.isPermitted(user, need.access, need.key, need.rangeEnd)) return 'permissionDenied';
  }
  return undefined;
}
