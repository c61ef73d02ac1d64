/** Binary encoding of store requests (the body of replicated commands). */

import type {
  Compare,
  DeleteRangeRequest,
  PutRequest,
  RangeRequest,
  RequestOp,
  TxnRequest,
} from '../store/kv-types.js';
import { parseLeaseId } from '../lease/lease-id.js';
import type { BinaryReader } from './binary-reader.js';
import { MalformedEncodingError } from './binary-reader.js';
import type { BinaryWriter } from './binary-writer.js';
import {
  COMPARE_RESULTS,
  COMPARE_TARGETS,
  SORT_ORDERS,
  SORT_TARGETS,
  codeOf,
} from './enum-codes.js';

const OP_RANGE = 1;
const OP_PUT = 2;
const OP_DELETE_RANGE = 3;
const OP_TXN = 4;

const KEYS_ONLY = 1;
const COUNT_ONLY = 2;
/** A revision to read at follows the other fields (absent in ranges encoded before history). */
const AT_REVISION = 4;

/**
 * Deepest nesting of transactions a decoder follows. The JSON API admits far less (etcd-json.ts);
 * the bound keeps a crafted or damaged encoding (3 bytes per level) from exhausting the stack.
 */
export const MAX_DECODED_TXN_DEPTH = 64;

/** @throws MalformedEncodingError when `depth` is beyond {@link MAX_DECODED_TXN_DEPTH}. */
export function checkTxnDepth(depth: number, offset: number): void {
  if (depth > MAX_DECODED_TXN_DEPTH) {
    throw new MalformedEncodingError(
      `transactions nested deeper than ${MAX_DECODED_TXN_DEPTH} at byte ${offset}`,
    );
  }
}

function decodeEnum<T>(table: readonly T[], code: number, what: string): T {
  const value = table[code];
  if (value === undefined) throw new MalformedEncodingError(`unknown ${what} ${code}`);
  return value;
}

/** Writes a range request. */
export function encodeRange(writer: BinaryWriter, request: RangeRequest): void {
  writer.writeByteString(request.key);
  writer.writeByteString(request.rangeEnd);
  writer.writeVarint(request.limit);
  const atRevision = request.revision !== undefined && request.revision > 0;
  writer.writeByte(
    (request.keysOnly ? KEYS_ONLY : 0) |
      (request.countOnly ? COUNT_ONLY : 0) |
      (atRevision ? AT_REVISION : 0),
  );
  writer.writeByte(codeOf(SORT_ORDERS, request.sortOrder));
  writer.writeByte(codeOf(SORT_TARGETS, request.sortTarget));
  writer.writeVarint(request.minModRevision);
  writer.writeVarint(request.maxModRevision);
  writer.writeVarint(request.minCreateRevision);
  writer.writeVarint(request.maxCreateRevision);
  if (atRevision) writer.writeVarint(request.revision as number);
}

/** Reads a range request. */
export function decodeRange(reader: BinaryReader): RangeRequest {
  const key = reader.readByteString();
  const rangeEnd = reader.readByteString();
  const limit = reader.readVarint();
  const flags = reader.readByte();
  return {
    key,
    rangeEnd,
    limit,
    keysOnly: (flags & KEYS_ONLY) !== 0,
    countOnly: (flags & COUNT_ONLY) !== 0,
    sortOrder: decodeEnum(SORT_ORDERS, reader.readByte(), 'sort order'),
    sortTarget: decodeEnum(SORT_TARGETS, reader.readByte(), 'sort target'),
    minModRevision: reader.readVarint(),
    maxModRevision: reader.readVarint(),
    minCreateRevision: reader.readVarint(),
    maxCreateRevision: reader.readVarint(),
    ...((flags & AT_REVISION) === 0 ? {} : { revision: reader.readVarint() }),
  };
}

/** Writes a put request. */
export function encodePut(writer: BinaryWriter, request: PutRequest): void {
  writer.writeByteString(request.key);
  writer.writeByteString(request.value);
  writer.writeByte(request.prevKv ? 1 : 0);
}

/** Reads a put request. */
export function decodePut(reader: BinaryReader): PutRequest {
  return {
    key: reader.readByteString(),
    value: reader.readByteString(),
    prevKv: reader.readByte() === 1,
  };
}

/** Writes a delete-range request. */
export function encodeDeleteRange(writer: BinaryWriter, request: DeleteRangeRequest): void {
  writer.writeByteString(request.key);
  writer.writeByteString(request.rangeEnd);
  writer.writeByte(request.prevKv ? 1 : 0);
}

/** Reads a delete-range request. */
export function decodeDeleteRange(reader: BinaryReader): DeleteRangeRequest {
  return {
    key: reader.readByteString(),
    rangeEnd: reader.readByteString(),
    prevKv: reader.readByte() === 1,
  };
}

function encodeCompare(writer: BinaryWriter, compare: Compare): void {
  writer.writeByte(codeOf(COMPARE_TARGETS, compare.target));
  writer.writeByte(codeOf(COMPARE_RESULTS, compare.result));
  writer.writeByteString(compare.key);
  writer.writeByteString(compare.rangeEnd);
  if (compare.target === 'value') writer.writeByteString(compare.operand);
  else if (compare.target === 'lease') writer.writeUtf8(compare.operand);
  else writer.writeVarint(compare.operand);
}

function decodeCompare(reader: BinaryReader): Compare {
  const target = decodeEnum(COMPARE_TARGETS, reader.readByte(), 'compare target');
  const result = decodeEnum(COMPARE_RESULTS, reader.readByte(), 'compare result');
  const key = reader.readByteString();
  const rangeEnd = reader.readByteString();
  if (target === 'value') {
    return { target, result, key, rangeEnd, operand: reader.readByteString() };
  }
  if (target === 'lease') {
    const operand = reader.readUtf8();
    if (parseLeaseId(operand) !== operand) {
      throw new MalformedEncodingError(`bad lease id "${operand}" in a comparison`);
    }
    return { target, result, key, rangeEnd, operand };
  }
  return { target, result, key, rangeEnd, operand: reader.readVarint() };
}

/** Writes one transaction operation. */
export function encodeRequestOp(writer: BinaryWriter, op: RequestOp): void {
  switch (op.type) {
    case 'range':
      writer.writeByte(OP_RANGE);
      encodeRange(writer, op.request);
      return;
    case 'put':
      writer.writeByte(OP_PUT);
      encodePut(writer, op.request);
      return;
    case 'deleteRange':
      writer.writeByte(OP_DELETE_RANGE);
      encodeDeleteRange(writer, op.request);
      return;
    case 'txn':
      writer.writeByte(OP_TXN);
      encodeTxn(writer, op.request);
      return;
  }
}

/** Reads one transaction operation, nested `depth` transactions deep. */
export function decodeRequestOp(reader: BinaryReader, depth = 0): RequestOp {
  const tag = reader.readByte();
  switch (tag) {
    case OP_RANGE:
      return { type: 'range', request: decodeRange(reader) };
    case OP_PUT:
      return { type: 'put', request: decodePut(reader) };
    case OP_DELETE_RANGE:
      return { type: 'deleteRange', request: decodeDeleteRange(reader) };
    case OP_TXN:
      return { type: 'txn', request: decodeTxn(reader, depth + 1) };
    default:
      throw new MalformedEncodingError(`unknown operation tag ${tag}`);
  }
}

function encodeOps(writer: BinaryWriter, ops: readonly RequestOp[]): void {
  writer.writeVarint(ops.length);
  for (const op of ops) encodeRequestOp(writer, op);
}

function decodeOps(reader: BinaryReader, depth: number): RequestOp[] {
  const count = reader.readVarint();
  const ops: RequestOp[] = [];
  for (let index = 0; index < count; index++) ops.push(decodeRequestOp(reader, depth));
  return ops;
}

/** Writes a transaction. */
export function encodeTxn(writer: BinaryWriter, request: TxnRequest): void {
  writer.writeVarint(request.compare.length);
  for (const compare of request.compare) encodeCompare(writer, compare);
  encodeOps(writer, request.success);
  encodeOps(writer, request.failure);
}

/**
 * Reads a transaction, itself nested `depth` transactions deep (0 at the top).
 * @throws MalformedEncodingError on bad bytes or nesting beyond {@link MAX_DECODED_TXN_DEPTH}.
 */
export function decodeTxn(reader: BinaryReader, depth = 0): TxnRequest {
  checkTxnDepth(depth, reader.offset);
  const compareCount = reader.readVarint();
  const compare: Compare[] = [];
  for (let index = 0; index < compareCount; index++) compare.push(decodeCompare(reader));
  return { compare, success: decodeOps(reader, depth), failure: decodeOps(reader, depth) };
}
