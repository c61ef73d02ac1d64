/**
 * The keys and ranges each key-value request touches, and the access it needs on them, as etcd
 * 3.4 checks them (`etcdserver/apply_auth.go`): a range reads its range; a put writes its key and,
 * with `prev_kv`, reads it; a delete writes its range and, with `prev_kv`, reads it; a txn reads
 * every compared key or range and needs what each operation of both branches needs (nested txns
 * included), whichever branch runs.
 */

import type { ByteString } from '../store/byte-string.js';
import type {
  DeleteRangeRequest,
  PutRequest,
  RangeRequest,
  RequestOp,
  TxnRequest,
} from '../store/kv-types.js';
import type { Access } from './key-permissions.js';

/** One access a request needs. */
export interface PermissionNeed {
  access: Access;
  key: ByteString;
  /** etcd's range end rules (see `key-permissions.ts`). */
  rangeEnd: ByteString;
}

/** What a range needs. */
export function rangeNeeds(request: RangeRequest): PermissionNeed[] {
  return [{ access: 'read', key: request.key, rangeEnd: request.rangeEnd }];
}

/** What a put needs. */
export function putNeeds(request: PutRequest): PermissionNeed[] {
  const needs: PermissionNeed[] = [{ access: 'write', key: request.key, rangeEnd: '' }];
  if (request.prevKv) needs.push({ access: 'read', key: request.key, rangeEnd: '' });
  return needs;
}

/** What a delete-range needs. */
export function deleteRangeNeeds(request: DeleteRangeRequest): PermissionNeed[] {
  const needs: PermissionNeed[] = [
    { access: 'write', key: request.key, rangeEnd: request.rangeEnd },
  ];
  if (request.prevKv) needs.push({ access: 'read', key: request.key, rangeEnd: request.rangeEnd });
  return needs;
}

function opNeeds(op: RequestOp, into: PermissionNeed[]): void {
  switch (op.type) {
    case 'range':
      into.push(...rangeNeeds(op.request));
      return;
    case 'put':
      into.push(...putNeeds(op.request));
      return;
    case 'deleteRange':
      into.push(...deleteRangeNeeds(op.request));
      return;
    case 'txn':
      collectTxnNeeds(op.request, into);
      return;
  }
}

function collectTxnNeeds(request: TxnRequest, into: PermissionNeed[]): void {
  for (const compare of request.compare) {
    into.push({ access: 'read', key: compare.key, rangeEnd: compare.rangeEnd });
  }
  for (const op of request.success) opNeeds(op, into);
  for (const op of request.failure) opNeeds(op, into);
}

/** What a txn needs: every comparison and every operation of both branches, nested ones too. */
export function txnNeeds(request: TxnRequest): PermissionNeed[] {
  const needs: PermissionNeed[] = [];
  collectTxnNeeds(request, needs);
  return needs;
}
