/**
 * How the state machine applies leases: grant and revoke commands, the lease check of a put or
 * txn before it is applied (a missing lease refuses the whole write, as in etcd), and the
 * attachments a write leaves behind once applied. Deterministic: it reads only replicated state.
 */

import type { AuthState } from '../auth/auth-state.js';
import type { ByteString } from '../store/byte-string.js';
import type { KvStore } from '../store/kv-store.js';
import type {
  DeleteRangeRequest,
  PutRequest,
  RequestOp,
  ResponseOp,
  TxnRequest,
  TxnResult,
} from '../store/kv-types.js';
import type { LeaseApplyResult, LeaseCommand } from './lease-command.js';
import type { LeaseErrorName } from './lease-errors.js';
import type { LeaseId } from './lease-id.js';
import { NO_LEASE } from './lease-id.js';
import { putsOfTxn } from './leased-puts.js';
import type { LeaseTable } from './lease-table.js';

/** Why the lease check refused a write: a lease error, or the auth check of a revoke. */
export type LeaseRefusal = LeaseErrorName | 'permissionDenied';

/**
 * Applies a grant or revoke. A revoke deletes the lease's keys in one revision (one store
 * transaction). While auth is enabled, revoking needs write permission on every attached key
 * (etcd's `checkLeasePuts`).
 */
export function applyLeaseCommand(
  leases: LeaseTable,
  store: KvStore,
  auth: AuthState,
  command: LeaseCommand,
  user: string | undefined,
): LeaseApplyResult | 'permissionDenied' {
  if (command.op === 'grant') {
    const error = leases.grant(command.id, command.ttlSeconds);
    return error === undefined
      ? { revision: store.revision, id: command.id, ttlSeconds: command.ttlSeconds }
      : { revision: store.revision, error };
  }
  if (!leases.has(command.id)) return { revision: store.revision, error: 'leaseNotFound' };
  // An expiry is the cluster's own decision, made as no user.
  if (!command.expired && !mayWriteKeysOf(leases, auth, user, command.id)) {
    return 'permissionDenied';
  }
  const keys = leases.revoke(command.id) ?? [];
  if (keys.length > 0) {
    store.txn(
      {
        compare: [],
        success: keys.map((key) => ({
          type: 'deleteRange' as const,
          request: { key, rangeEnd: '', prevKv: false },
        })),
        failure: [],
      },
      'none',
    );
  }
  return { revision: store.revision };
}

/**
 * Whether `user` may write every key attached to lease `id` (etcd's `checkLeasePuts`): needed to
 * revoke the lease, and to attach a key to it with a put (a user who could not revoke the lease
 * must not tie more keys to it). Always while auth is disabled; root may.
 */
export function mayWriteKeysOf(
  leases: LeaseTable,
  auth: AuthState,
  user: string | undefined,
  id: LeaseId,
): boolean {
  if (!auth.enabled || id === NO_LEASE) return true;
  if (user === undefined) return false;
  if (auth.isRoot(user)) return true;
  return leases.keysOf(id).every((key) => auth.isPermitted(user, 'write', key, ''));
}

/**
 * Why a put or txn must not be applied because of its leases: a lease it names does not exist, or
 * would hold more keys than the table allows. Checks every put of a txn, in both branches (etcd
 * checks only the branch that runs: kv-node refuses a txn naming a missing lease in either).
 */
export function leaseRefusalOfWrite(
  leases: LeaseTable,
  puts: readonly PutRequest[],
): LeaseErrorName | undefined {
  let added: Map<LeaseId, Set<ByteString>> | undefined;
  for (const put of puts) {
    const id = put.lease;
    if (id === undefined || id === NO_LEASE) continue;
    const refusal = leases.refusalToAttach(put.key, id);
    if (refusal !== undefined) return refusal;
    if (leases.leaseOf(put.key) === id) continue;
    added ??= new Map();
    let keys = added.get(id);
    if (keys === undefined) added.set(id, (keys = new Set()));
    keys.add(put.key);
  }
  if (added === undefined) return undefined;
  // Several new keys in one txn: together they must fit too.
  for (const [id, keys] of added) {
    if (keys.size > leases.spareKeys(id)) return 'tooManyKeysOnLease';
  }
  return undefined;
}

/** The puts a write names (a put's own, or a txn's in both branches). */
export function putsOfWrite(
  command: { type: 'put'; request: PutRequest } | { type: 'txn'; request: TxnRequest },
): PutRequest[] {
  return command.type === 'put' ? [command.request] : putsOfTxn(command.request);
}

function inRange(key: ByteString, range: DeleteRangeRequest): boolean {
  if (range.rangeEnd === '') return key === range.key;
  if (range.rangeEnd === '\0') return key >= range.key;
  return key >= range.key && key < range.rangeEnd;
}

/** Collects the puts and deletes of the ops a txn actually ran (by its results). */
function ranOps(
  ops: readonly RequestOp[],
  responses: readonly ResponseOp[],
  puts: PutRequest[],
  deletes: DeleteRangeRequest[],
): void {
  ops.forEach((op, index) => {
    if (op.type === 'put') puts.push(op.request);
    else if (op.type === 'deleteRange') deletes.push(op.request);
    else if (op.type === 'txn') {
      const response = responses[index];
      if (response?.type !== 'txn') return;
      const nested = response.result;
      ranOps(
        nested.succeeded ? op.request.success : op.request.failure,
        nested.responses,
        puts,
        deletes,
      );
    }
  });
}

/**
 * Brings the attachments up to date after a write was applied: keys it deleted leave their
 * lease, keys it put join the lease the put named (or leave theirs, put without one).
 */
export function trackAttachments(
  leases: LeaseTable,
  store: KvStore,
  write:
    | { type: 'put'; request: PutRequest }
    | { type: 'deleteRange'; request: DeleteRangeRequest }
    | { type: 'txn'; request: TxnRequest; result: TxnResult },
): void {
  const puts: PutRequest[] = [];
  const deletes: DeleteRangeRequest[] = [];
  if (write.type === 'put') puts.push(write.request);
  else if (write.type === 'deleteRange') deletes.push(write.request);
  else {
    const { request, result } = write;
    ranOps(result.succeeded ? request.success : request.failure, result.responses, puts, deletes);
  }
  if (deletes.length > 0 && leases.attachedKeyCount > 0) {
    const gone: ByteString[] = [];
    for (const range of deletes) {
      if (range.rangeEnd === '') {
        if (leases.leaseOf(range.key) !== undefined && store.stored(range.key) === undefined) {
          gone.push(range.key);
        }
        continue;
      }
      // Bounded by the attached keys (at most maxLeases * maxKeysPerLease, usually few).
      leases.forEachAttachedKey((key) => {
        if (inRange(key, range) && store.stored(key) === undefined) gone.push(key);
      });
    }
    for (const key of gone) leases.detach(key);
  }
  for (const put of puts) {
    const id = put.lease ?? NO_LEASE;
    if (id === NO_LEASE && leases.attachedKeyCount === 0) continue;
    if (store.stored(put.key) === undefined) leases.detach(put.key);
    else if (id === NO_LEASE || leases.has(id)) leases.attach(put.key, id);
  }
}
