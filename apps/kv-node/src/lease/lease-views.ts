/**
 * Range answers with each key's lease, as etcd's `KeyValue.lease`: the store does not know
 * attachments, the lease table does, so key-values are completed on their way to the client.
 * Free when no key is attached to a lease.
 */

import type { KeyValue, RangeView, ResponseOp, TxnResult } from '../store/kv-types.js';
import type { LeaseTable } from './lease-table.js';

function withLease(kv: KeyValue, table: LeaseTable): KeyValue {
  const lease = table.leaseOf(kv.key);
  return lease === undefined ? kv : { ...kv, lease };
}

/** `view` with each key-value's lease, read when the key-value is materialized. */
export function rangeViewWithLeases(view: RangeView, table: LeaseTable): RangeView {
  if (table.attachedKeyCount === 0) return view;
  return {
    length: view.length,
    keyValue: (index) => withLease(view.keyValue(index), table),
    more: view.more,
    count: view.count,
    revision: view.revision,
  };
}

function responseWithLeases(response: ResponseOp, table: LeaseTable): ResponseOp {
  if (response.type === 'range') {
    return {
      type: 'range',
      result: { ...response.result, kvs: response.result.kvs.map((kv) => withLease(kv, table)) },
    };
  }
  if (response.type === 'txn') {
    return { type: 'txn', result: txnResultWithLeases(response.result, table) };
  }
  return response;
}

/** `result` with the leases of the key-values its ranges read (nested transactions too). */
export function txnResultWithLeases(result: TxnResult, table: LeaseTable): TxnResult {
  if (table.attachedKeyCount === 0) return result;
  return {
    ...result,
    responses: result.responses.map((response) => responseWithLeases(response, table)),
  };
}
