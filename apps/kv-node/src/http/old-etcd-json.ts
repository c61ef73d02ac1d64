/**
 * etcd v3 gateway JSON (etcd 3.4, `OrigName: true`): request decoding into the store model and
 * response encoding from it. Bytes are base64, 64-bit integers are decimal strings, and fields
 * with zero values are omitted, exactly as etcd's gateway writes them.
 */

import type { ByteString } from '../store/byte-string.js';
import { base64FromByteString } from '../store/byte-string.js';
import type {
  Compare,
  DeleteRangeRequest,
  DeleteRangeResult,
  KeyValue,
  PutRequest,
  PutResult,
  RangeRequest,
  RangeResult,
  RangeView,
  RequestOp,
  ResponseOp,
  TxnRequest,
  TxnResult,
} from '../store/kv-types.js';
import {
  COMPARE_RESULTS,
  COMPARE_TARGETS,
  SORT_ORDERS,
  SORT_TARGETS,
} from '../codec/enum-codes.js';
import { NO_LEASE, parseLeaseId } from '../lease/lease-id.js';
import type { ApiLimits } from './api-limits.js';
import { ApiError, GrpcCode, badRequest, tooLarge, unsupported } from './api-error.js';
import { FieldReader } from './json-fields.js';
import type { SlicedArrayBody } from './json-body-slices.js';

/** A JSON response body. */
export type JsonBody = Record<string, unknown>;

/** What identifies the responding member in every response header. */
export interface HeaderSource {
  clusterId: string;
  memberId: string;
  generation: number;
}

const SORT_ORDER_NAMES = ['NONE', 'ASCEND', 'DESCEND'];
const SORT_TARGET_NAMES = ['KEY', 'VERSION', 'CREATE', 'MOD', 'VALUE'];
const COMPARE_TARGET_NAMES = ['VERSION', 'CREATE', 'MOD', 'VALUE', 'LEASE'];
const COMPARE_RESULT_NAMES = ['EQUAL', 'GREATER', 'LESS', 'NOT_EQUAL'];

/** A decoded `/v3/kv/range` request. */
export interface DecodedRange {
  request: RangeRequest;
  /** Serve from the local store without a linearizable barrier. */
  serializable: boolean;
  /** The revision asked for (0: latest). */
  revision: number;
}

function checkKey(fields: FieldReader, key: ByteString, limits: ApiLimits): void {
  if (key.length === 0)
    throw badRequest('etcdserver: key is not provided', fields.fieldName('key'));
  if (key.length > limits.maxKeyBytes) {
    throw tooLarge(
      `key is ${key.length} bytes; the limit is ${limits.maxKeyBytes}`,
      fields.fieldName('key'),
    );
  }
}

function rejectNonZero(fields: FieldReader, protoName: string, why: string): void {
  const value = fields.raw(protoName);
  if (value !== undefined && value !== 0 && value !== '0' && value !== false) {
    throw unsupported(`${fields.fieldName(protoName)}: ${why}`, fields.fieldName(protoName));
  }
}

function decodeRangeFields(fields: FieldReader, limits: ApiLimits): DecodedRange {
  const key = fields.bytes('key');
  checkKey(fields, key, limits);
  const request: RangeRequest = {
    key,
    rangeEnd: fields.bytes('range_end'),
    limit: fields.integer('limit'),
    keysOnly: fields.boolean('keys_only'),
    countOnly: fields.boolean('count_only'),
    sortOrder: fields.enumeration('sort_order', SORT_ORDER_NAMES, SORT_ORDERS),
    sortTarget: fields.enumeration('sort_target', SORT_TARGET_NAMES, SORT_TARGETS),
    minModRevision: fields.integer('min_mod_revision'),
    maxModRevision: fields.integer('max_mod_revision'),
    minCreateRevision: fields.integer('min_create_revision'),
    maxCreateRevision: fields.integer('max_create_revision'),
  };
  const serializable = fields.boolean('serializable');
  const revision = fields.integer('revision');
  fields.rejectUnknown();
  return { request, serializable, revision };
}

/** Decodes a `/v3/kv/range` body. @throws ApiError (400/413) naming the field. */
export function decodeRange(body: unknown, limits: ApiLimits): DecodedRange {
  return decodeRangeFields(new FieldReader(body), limits);
}

/** A put's `lease` (an int64, number or decimal string); `NO_LEASE` when absent or 0. */
function leaseField(fields: FieldReader): string {
  const value = fields.raw('lease');
  if (value === undefined) return NO_LEASE;
  const id = parseLeaseId(value);
  if (id === undefined) {
    throw badRequest(
      `${fields.fieldName('lease')} must be a 64-bit integer`,
      fields.fieldName('lease'),
    );
  }
  return id;
}

function decodePutFields(fields: FieldReader, limits: ApiLimits): PutRequest {
  const key = fields.bytes('key');
  checkKey(fields, key, limits);
  const value = fields.bytes('value');
  if (value.length > limits.maxValueBytes) {
    throw tooLarge(
      `value is ${value.length} bytes; the limit is ${limits.maxValueBytes}`,
      fields.fieldName('value'),
    );
  }
  const prevKv = fields.boolean('prev_kv');
  const lease = leaseField(fields);
  rejectNonZero(fields, 'ignore_value', 'ignore_value is not supported');
  rejectNonZero(fields, 'ignore_lease', 'ignore_lease is not supported');
  fields.rejectUnknown();
  return lease === NO_LEASE ? { key, value, prevKv } : { key, value, prevKv, lease };
}

/** Decodes a `/v3/kv/put` body. @throws ApiError (400/413) naming the field. */
export function decodePut(body: unknown, limits: ApiLimits): PutRequest {
  return decodePutFields(new FieldReader(body), limits);
}

function decodeDeleteRangeFields(fields: FieldReader, limits: ApiLimits): DeleteRangeRequest {
  const key = fields.bytes('key');
  checkKey(fields, key, limits);
  const request = {
    key,
    rangeEnd: fields.bytes('range_end'),
    prevKv: fields.boolean('prev_kv'),
  };
  fields.rejectUnknown();
  return request;
}

/** Decodes a `/v3/kv/deleterange` body. @throws ApiError (400/413) naming the field. */
export function decodeDeleteRange(body: unknown, limits: ApiLimits): DeleteRangeRequest {
  return decodeDeleteRangeFields(new FieldReader(body), limits);
}

function decodeCompare(value: unknown, path: string, limits: ApiLimits): Compare {
  const fields = new FieldReader(value, path);
  const result = fields.enumeration('result', COMPARE_RESULT_NAMES, COMPARE_RESULTS);
  const target = fields.enumeration('target', COMPARE_TARGET_NAMES, COMPARE_TARGETS);
  const key = fields.bytes('key');
  checkKey(fields, key, limits);
  const rangeEnd = fields.bytes('range_end');
  const version = fields.integer('version');
  const createRevision = fields.integer('create_revision');
  const modRevision = fields.integer('mod_revision');
  const operandValue = fields.bytes('value');
  const lease = leaseField(fields);
  fields.rejectUnknown();
  switch (target) {
    case 'value':
      return { target, result, key, rangeEnd, operand: operandValue };
    case 'version':
      return { target, result, key, rangeEnd, operand: version };
    case 'create':
      return { target, result, key, rangeEnd, operand: createRevision };
    case 'mod':
      return { target, result, key, rangeEnd, operand: modRevision };
    case 'lease':
      return { target, result, key, rangeEnd, operand: lease };
  }
}

function decodeRequestOp(
  value: unknown,
  path: string,
  limits: ApiLimits,
  depth: number,
  opsBudget: number,
): RequestOp {
  const fields = new FieldReader(value, path);
  const range = fields.raw('request_range');
  const put = fields.raw('request_put');
  const deleteRange = fields.raw('request_delete_range');
  const txn = fields.raw('request_txn');
  fields.rejectUnknown();
  const present = [range, put, deleteRange, txn].filter((member) => member !== undefined).length;
  if (present !== 1) {
    throw badRequest(
      `${path} must have exactly one of request_range, request_put, request_delete_range, request_txn`,
      path,
    );
  }
  if (range !== undefined) {
    const decoded = decodeRangeFields(new FieldReader(range, `${path}.request_range`), limits);
    return {
      type: 'range',
      request:
        decoded.revision === 0
          ? decoded.request
          : { ...decoded.request, revision: decoded.revision },
    };
  }
  if (put !== undefined) {
    return {
      type: 'put',
      request: decodePutFields(new FieldReader(put, `${path}.request_put`), limits),
    };
  }
  if (deleteRange !== undefined) {
    const fieldsOfDelete = new FieldReader(deleteRange, `${path}.request_delete_range`);
    return { type: 'deleteRange', request: decodeDeleteRangeFields(fieldsOfDelete, limits) };
  }
  return {
    type: 'txn',
    request: decodeTxnFields(
      new FieldReader(txn, `${path}.request_txn`),
      limits,
      depth + 1,
      opsBudget,
    ),
  };
}

/**
 * Greatest nesting of `request_txn` accepted. etcd has no such bound, but its operation budget
 * (below) allows at most `maxTxnOps` nested levels (each level spends at least one operation on
 * the next), so with the default of 128 this refuses nothing etcd accepts; it keeps recursion
 * shallow when an operator raises `--max-txn-ops`.
 */
const MAX_TXN_DEPTH = 128;

function tooManyOperations(field: string): ApiError {
  return new ApiError('etcdserver: too many operations in txn request', {
    reason: 'too_many_operations',
    status: 400,
    grpcCode: GrpcCode.invalidArgument,
    definite: true,
    field,
  });
}

/**
 * Decodes one transaction level under etcd 3.4's operation budget (v3rpc `checkTxnRequest`):
 * the longest of the level's compare, success and failure lists must fit `opsBudget`, and each
 * transaction nested in success or failure is checked the same way against `opsBudget` minus
 * that length. Nested transactions thus share one budget down every path, instead of each level
 * getting the whole budget again.
 */
function decodeTxnFields(
  fields: FieldReader,
  limits: ApiLimits,
  depth: number,
  opsBudget: number,
): TxnRequest {
  if (depth > MAX_TXN_DEPTH)
    throw badRequest('transactions nested too deeply', fields.fieldName('request_txn'));
  const lists = {
    compare: fields.array('compare'),
    success: fields.array('success'),
    failure: fields.array('failure'),
  };
  fields.rejectUnknown();
  let longest: keyof typeof lists = 'compare';
  if (lists.success.length > lists[longest].length) longest = 'success';
  if (lists.failure.length > lists[longest].length) longest = 'failure';
  const levelOps = lists[longest].length;
  if (levelOps > opsBudget) throw tooManyOperations(fields.fieldName(longest));
  const nestedBudget = opsBudget - levelOps;
  const request: TxnRequest = {
    compare: lists.compare.map((value, index) =>
      decodeCompare(value, `${fields.fieldName('compare')}[${index}]`, limits),
    ),
    success: lists.success.map((value, index) =>
      decodeRequestOp(
        value,
        `${fields.fieldName('success')}[${index}]`,
        limits,
        depth,
        nestedBudget,
      ),
    ),
    failure: lists.failure.map((value, index) =>
      decodeRequestOp(
        value,
        `${fields.fieldName('failure')}[${index}]`,
        limits,
        depth,
        nestedBudget,
      ),
    ),
  };
  checkNoOverlappingWrites(request.success, fields.fieldName('success'));
  checkNoOverlappingWrites(request.failure, fields.fieldName('failure'));
  return request;
}

/** Decodes a `/v3/kv/txn` body. @throws ApiError (400/413) naming the field. */
export function decodeTxn(body: unknown, limits: ApiLimits): TxnRequest {
  return decodeTxnFields(new FieldReader(body), limits, 0, limits.maxTxnOps);
}

interface BranchWrites {
  puts: ByteString[];
  deletes: { key: ByteString; rangeEnd: ByteString }[];
}

function collectWrites(ops: readonly RequestOp[], into: BranchWrites): void {
  for (const op of ops) {
    if (op.type === 'put') into.puts.push(op.request.key);
    else if (op.type === 'deleteRange') into.deletes.push(op.request);
    else if (op.type === 'txn') {
      collectWrites(op.request.success, into);
      collectWrites(op.request.failure, into);
    }
  }
}

function inRange(key: ByteString, range: { key: ByteString; rangeEnd: ByteString }): boolean {
  if (range.rangeEnd === '') return key === range.key;
  if (range.rangeEnd === '\0') return key >= range.key;
  return key >= range.key && key < range.rangeEnd;
}

/**
 * etcd's rule: within one branch (and the transactions nested in it) no key is put twice and no
 * put key falls inside a deleted range, because the outcome would depend on operation order.
 */
function checkNoOverlappingWrites(ops: readonly RequestOp[], field: string): void {
  const writes: BranchWrites = { puts: [], deletes: [] };
  collectWrites(ops, writes);
  const seen = new Set<ByteString>();
  for (const key of writes.puts) {
    if (seen.has(key) || writes.deletes.some((range) => inRange(key, range))) {
      throw new ApiError('etcdserver: duplicate key given in txn request', {
        reason: 'duplicate_key',
        status: 400,
        grpcCode: GrpcCode.invalidArgument,
        definite: true,
        field,
      });
    }
    seen.add(key);
  }
}

/** Whether a transaction only reads (then it needs no log entry, only a read barrier). */
export function isReadOnlyTxn(request: TxnRequest): boolean {
  const readOnly = (ops: readonly RequestOp[]): boolean =>
    ops.every((op) => op.type === 'range' || (op.type === 'txn' && isReadOnlyTxn(op.request)));
  return readOnly(request.success) && readOnly(request.failure);
}

function int64(value: number): string | undefined {
  return value === 0 ? undefined : String(value);
}

/**
 * Drops `undefined` members so JSON.stringify omits them (and keeps field order). Copies into a
 * fresh object rather than deleting: `delete` turns an object into a slow dictionary, and these
 * are built for every response.
 */
function compact(body: Record<string, unknown>): JsonBody {
  const result: JsonBody = {};
  for (const name in body) {
    const value = body[name];
    if (value !== undefined) result[name] = value;
  }
  return result;
}

/** The `header` of a top-level response. */
export function responseHeader(source: HeaderSource, revision: number): JsonBody {
  return compact({
    cluster_id: source.clusterId === '0' ? undefined : source.clusterId,
    member_id: source.memberId === '0' ? undefined : source.memberId,
    revision: int64(revision),
    raft_term: int64(source.generation),
  });
}

/** A `mvccpb.KeyValue` in gateway JSON. */
export function keyValueJson(kv: KeyValue): JsonBody {
  return compact({
    key: kv.key === '' ? undefined : base64FromByteString(kv.key),
    create_revision: int64(kv.createRevision),
    mod_revision: int64(kv.modRevision),
    version: int64(kv.version),
    value: kv.value === '' ? undefined : base64FromByteString(kv.value),
    lease: kv.lease === undefined || kv.lease === '0' ? undefined : kv.lease,
  });
}

function rangeBody(result: RangeResult, header: JsonBody): JsonBody {
  return compact({
    header,
    kvs: result.kvs.length === 0 ? undefined : result.kvs.map(keyValueJson),
    more: result.more ? true : undefined,
    count: int64(result.count),
  });
}

function putBody(result: PutResult, header: JsonBody): JsonBody {
  if (result.prevNotRead === true) throw new Error('a prev_kv not kept reached the encoder');
  return compact({
    header,
    prev_kv: result.prevKv === undefined ? undefined : keyValueJson(result.prevKv),
  });
}

function deleteRangeBody(result: DeleteRangeResult, header: JsonBody): JsonBody {
  if (result.prevNotRead === true) throw new Error('prev_kvs not kept reached the encoder');
  return compact({
    header,
    deleted: int64(result.deleted),
    prev_kvs: result.prevKvs.length === 0 ? undefined : result.prevKvs.map(keyValueJson),
  });
}

function responseOpJson(response: ResponseOp): JsonBody {
  if (response.type === 'rangeNotRead') {
    // kv-operations answers such results with an error; showing one would fabricate a result.
    throw new Error('a range that was not read reached the response encoder');
  }
  // Inside a transaction etcd fills only the revision of each operation's header.
  const header = { revision: String(response.result.revision) };
  switch (response.type) {
    case 'range':
      return { response_range: rangeBody(response.result, header) };
    case 'put':
      return { response_put: putBody(response.result, header) };
    case 'deleteRange':
      return { response_delete_range: deleteRangeBody(response.result, header) };
    case 'txn':
      // A nested txn's header is empty in etcd 3.4 (its operations' headers have the revision).
      return { response_txn: txnBody(response.result, {}) };
  }
}

function txnBody(result: TxnResult, header: JsonBody): JsonBody {
  return compact({
    header,
    succeeded: result.succeeded ? true : undefined,
    responses: result.responses.length === 0 ? undefined : result.responses.map(responseOpJson),
  });
}

/** A `/v3/kv/range` response. */
export function rangeResponseJson(source: HeaderSource, result: RangeResult): JsonBody {
  return rangeBody(result, responseHeader(source, result.revision));
}

/**
 * A `/v3/kv/range` response with its `kvs` split out for {@link jsonBodySlices}, each key-value
 * materialized and encoded only when its slice is produced: joined, the slices are exactly
 * `JSON.stringify(rangeResponseJson(source, result))` for the same answer; a cut body says
 * `"more":true`, as etcd does when a limit leaves keys out. `undefined` when there are no kvs
 * (etcd then omits the array, and the body is small).
 */
export function rangeResponseParts(
  source: HeaderSource,
  view: RangeView,
): SlicedArrayBody | undefined {
  if (view.length === 0) return undefined;
  const header = JSON.stringify(responseHeader(source, view.revision));
  const count = int64(view.count);
  const countText = count === undefined ? '' : `,"count":${JSON.stringify(count)}`;
  return {
    open: `{"header":${header},"kvs":[`,
    itemCount: view.length,
    encodeItem: (index) => JSON.stringify(keyValueJson(view.keyValue(index))),
    close: (cut) => `]${view.more || cut ? ',"more":true' : ''}${countText}}`,
  };
}

/** A `/v3/kv/put` response. */
export function putResponseJson(source: HeaderSource, result: PutResult): JsonBody {
  return putBody(result, responseHeader(source, result.revision));
}

/** A `/v3/kv/deleterange` response. */
export function deleteRangeResponseJson(source: HeaderSource, result: DeleteRangeResult): JsonBody {
  return deleteRangeBody(result, responseHeader(source, result.revision));
}

/** A `/v3/kv/txn` response. */
export function txnResponseJson(source: HeaderSource, result: TxnResult): JsonBody {
  return txnBody(result, responseHeader(source, result.revision));
}
