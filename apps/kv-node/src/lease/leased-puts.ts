/**
 * The puts of a write and the leases they attach: the log carries a put's lease beside the
 * request (see `codec/command-codec.ts`), in the order this module visits the puts, so the
 * request encoding of writes without leases is unchanged.
 */

import type { BinaryReader } from '../codec/binary-reader.js';
import { MalformedEncodingError } from '../codec/binary-reader.js';
import type { BinaryWriter } from '../codec/binary-writer.js';
import type { PutRequest, RequestOp, TxnRequest } from '../store/kv-types.js';
import { NO_LEASE, parseLeaseId } from './lease-id.js';

/**
 * Every put of a transaction, both branches, depth first (success before failure at each level):
 * the order their leases travel in.
 */
export function putsOfTxn(request: TxnRequest, into: PutRequest[] = []): PutRequest[] {
  const visit = (ops: readonly RequestOp[]): void => {
    for (const op of ops) {
      if (op.type === 'put') into.push(op.request);
      else if (op.type === 'txn') putsOfTxn(op.request, into);
    }
  };
  visit(request.success);
  visit(request.failure);
  return into;
}

/** Whether any of `puts` attaches a lease. */
export function anyLeased(puts: readonly PutRequest[]): boolean {
  return puts.some((put) => put.lease !== undefined && put.lease !== NO_LEASE);
}

/** Writes the lease of each put (`"0"` for none), in order. */
export function encodePutLeases(writer: BinaryWriter, puts: readonly PutRequest[]): void {
  writer.writeVarint(puts.length);
  for (const put of puts) writer.writeUtf8(put.lease ?? NO_LEASE);
}

/**
 * Reads the leases written by {@link encodePutLeases} onto `puts`.
 * @throws MalformedEncodingError if the count differs or an id is bad.
 */
export function decodePutLeases(reader: BinaryReader, puts: readonly PutRequest[]): void {
  const count = reader.readVarint();
  if (count !== puts.length) {
    throw new MalformedEncodingError(`${count} leases for ${puts.length} puts`);
  }
  for (const put of puts) {
    const id = reader.readUtf8();
    if (parseLeaseId(id) !== id) throw new MalformedEncodingError(`bad lease id "${id}"`);
    if (id !== NO_LEASE) put.lease = id;
  }
}
