/**
 * etcd v3 gateway JSON (etcd 3.4, `OrigName: true`) for the KV service: request decoding into the
 * store model and response encoding from it. The field mapping itself (names, bytes as base64,
 * 64-bit integers as decimal strings, enums by name, zero values omitted) comes from etcd's
 * `.proto` files through `proto-json.ts`; this file says only how etcd's messages correspond to
 * the store model, and applies etcd's rules on them (key given, sizes, the txn budget).
 */

import type { ByteString } from '../store/byte-string.js';
import type {
  Compare,
  CompareResult,
  CompareTarget,
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
  SortOrder,
  SortTarget,
  TxnRequest,
  TxnResult,
} from '../store/kv-types.js';
import { NO_LEASE } from '../lease/lease-id.js';
import type { ApiLimits } from './api-limits.js';
import { ApiError, GrpcCode, badRequest, tooLarge, unsupported } from './api-error.js';
import type { DecodedMessage } from './proto-json.js';
import { protoJson } from './proto-json.js';
import type { SlicedArrayBody } from './json-body-slices.js';

/** A JSON response body. */
export type JsonBody = Record<string, unknown>;

/** What identifies the responding member in every response header. */
export interface HeaderSource {
  clusterId: string;
  memberId: string;
  generation: number;
}

/** The mappings of the messages this file reads and writes, from etcd's protos. */
const messages = {
  header: protoJson('etcdserverpb.ResponseHeader'),
  keyValue: protoJson('mvccpb.KeyValue'),
  rangeRequest: protoJson('etcdserverpb.RangeRequest'),
  rangeResponse: protoJson('etcdserverpb.RangeResponse'),
  putRequest: protoJson('etcdserverpb.PutRequest'),
  putResponse: protoJson('etcdserverpb.PutResponse'),
  deleteRangeRequest: protoJson('etcdserverpb.DeleteRangeRequest'),
  deleteRangeResponse: protoJson('etcdserverpb.DeleteRangeResponse'),
  compare: protoJson('etcdserverpb.Compare'),
  requestOp: protoJson('etcdserverpb.RequestOp'),
  responseOp: protoJson('etcdserverpb.ResponseOp'),
  txnRequest: protoJson('etcdserverpb.TxnRequest'),
  txnResponse: protoJson('etcdserverpb.TxnResponse'),
};

/** A decoded `/v3/kv/range` request. */
export interface DecodedRange {
  request: RangeRequest;
  /** Serve from the local store without a linearizable barrier. */
  serializable: boolean;
  /** The revision asked for (0: latest). */
  revision: number;
}

function fieldPath(path: string, protoName: string): string {
  return path === '' ? protoName : `${path}.${protoName}`;
}

function checkKey(key: ByteString, path: string, limits: ApiLimits): void {
  if (key.length === 0) throw badRequest('etcdserver: key is not provided', fieldPath(path, 'key'));
  if (key.length > limits.maxKeyBytes) {
    throw tooLarge(
      `key is ${key.length} bytes; the limit is ${limits.maxKeyBytes}`,
      fieldPath(path, 'key'),
    );
  }
}

/**
 * A count or revision: the store keeps them as safe non-negative numbers (an int64 in etcd's
 * protos; etcd refuses negative ones where it matters, and none reaches 2^53).
 */
function count(decoded: DecodedMessage, jsonName: string, path: string, protoName: string): number {
  const value = decoded[jsonName];
  if (typeof value !== 'number' || value < 0) {
    const name = fieldPath(path, protoName);
    throw badRequest(`${name} must be a non-negative integer`, name);
  }
  return value;
}

/** The store model's name of an etcd enum value (`NOT_EQUAL` -> `not_equal`). */
function modelName<T extends string>(protoName: unknown): T {
  return (protoName as string).toLowerCase() as T;
}

function decodeRangeMessage(
  decoded: DecodedMessage,
  path: string,
  limits: ApiLimits,
): DecodedRange {
  const key = decoded.key as ByteString;
  checkKey(key, path, limits);
  const request: RangeRequest = {
    key,
    rangeEnd: decoded.rangeEnd as ByteString,
    limit: count(decoded, 'limit', path, 'limit'),
    keysOnly: decoded.keysOnly as boolean,
    countOnly: decoded.countOnly as boolean,
    sortOrder: modelName<SortOrder>(decoded.sortOrder),
    sortTarget: modelName<SortTarget>(decoded.sortTarget),
    minModRevision: count(decoded, 'minModRevision', path, 'min_mod_revision'),
    maxModRevision: count(decoded, 'maxModRevision', path, 'max_mod_revision'),
    minCreateRevision: count(decoded, 'minCreateRevision', path, 'min_create_revision'),
    maxCreateRevision: count(decoded, 'maxCreateRevision', path, 'max_create_revision'),
  };
  return {
    request,
    serializable: decoded.serializable as boolean,
    revision: count(decoded, 'revision', path, 'revision'),
  };
}

/** Decodes a `/v3/kv/range` body. @throws ApiError (400/413) naming the field. */
export function decodeRange(body: unknown, limits: ApiLimits): DecodedRange {
  return decodeRangeMessage(messages.rangeRequest.decode(body), '', limits);
}

/** An int64 lease id as kv-node keeps it (a decimal string; `NO_LEASE` for 0). */
function leaseOf(decoded: DecodedMessage): string {
  return String(decoded.lease);
}

function rejectSet(
  decoded: DecodedMessage,
  jsonName: string,
  path: string,
  protoName: string,
): void {
  if (decoded[jsonName] === true) {
    const name = fieldPath(path, protoName);
    throw unsupported(`${name}: ${protoName} is not supported`, name);
  }
}

function decodePutMessage(decoded: DecodedMessage, path: string, limits: ApiLimits): PutRequest {
  const key = decoded.key as ByteString;
  checkKey(key, path, limits);
  const value = decoded.value as ByteString;
  if (value.length > limits.maxValueBytes) {
    throw tooLarge(
      `value is ${value.length} bytes; the limit is ${limits.maxValueBytes}`,
      fieldPath(path, 'value'),
    );
  }
  rejectSet(decoded, 'ignoreValue', path, 'ignore_value');
  rejectSet(decoded, 'ignoreLease', path, 'ignore_lease');
  const prevKv = decoded.prevKv as boolean;
  const lease = leaseOf(decoded);
  return lease === NO_LEASE ? { key, value, prevKv } : { key, value, prevKv, lease };
}

/** Decodes a `/v3/kv/put` body. @throws ApiError (400/413) naming the field. */
export function decodePut(body: unknown, limits: ApiLimits): PutRequest {
  return decodePutMessage(messages.putRequest.decode(body), '', limits);
}

function decodeDeleteRangeMessage(
  decoded: DecodedMessage,
  path: string,
  limits: ApiLimits,
): DeleteRangeRequest {
  const key = decoded.key as ByteString;
  checkKey(key, path, limits);
  return { key, rangeEnd: decoded.rangeEnd as ByteString, prevKv: decoded.prevKv as boolean };
}

/** Decodes a `/v3/kv/deleterange` body. @throws ApiError (400/413) naming the field. */
export function decodeDeleteRange(body: unknown, limits: ApiLimits): DeleteRangeRequest {
  return decodeDeleteRangeMessage(messages.deleteRangeRequest.decode(body), '', limits);
}

function decodeCompare(value: unknown, path: string, limits: ApiLimits): Compare {
  const decoded = messages.compare.decode(value, path);
  const result = modelName<CompareResult>(decoded.result);
  const target = modelName<CompareTarget>(decoded.target);
  const key = decoded.key as ByteString;
  checkKey(key, path, limits);
  const rangeEnd = decoded.rangeEnd as ByteString;
  switch (target) {
    case 'value':
      return { target, result, key, rangeEnd, operand: decoded.value as ByteString };
    case 'version':
      return { target, result, key, rangeEnd, operand: count(decoded, 'version', path, 'version') };
    case 'create': {
      const operand = count(decoded, 'createRevision', path, 'create_revision');
      return { target, result, key, rangeEnd, operand };
    }
    case 'mod':
      return {
        target,
        result,
        key,
        rangeEnd,
        operand: count(decoded, 'modRevision', path, 'mod_revision'),
      };
    case 'lease':
      return { target, result, key, rangeEnd, operand: leaseOf(decoded) };
  }
}

/** The members of `RequestOp`'s `request` oneof, by proto name. */
const REQUEST_OP_MEMBERS = ['request_range', 'request_put', 'request_delete_range', 'request_txn'];

function decodeRequestOp(
  value: unknown,
  path: string,
  limits: ApiLimits,
  depth: number,
  opsBudget: number,
): RequestOp {
  const decoded = messages.requestOp.decode(value, path);
  const { requestRange, requestPut, requestDeleteRange, requestTxn } = decoded;
  const present = [requestRange, requestPut, requestDeleteRange, requestTxn].filter(
    (member) => member !== undefined,
  ).length;
  if (present !== 1) {
    throw badRequest(`${path} must have exactly one of ${REQUEST_OP_MEMBERS.join(', ')}`, path);
  }
  if (requestRange !== undefined) {
    const memberPath = `${path}.request_range`;
    const ranged = decodeRangeMessage(
      messages.rangeRequest.decode(requestRange, memberPath),
      memberPath,
      limits,
    );
    return {
      type: 'range',
      request:
        ranged.revision === 0 ? ranged.request : { ...ranged.request, revision: ranged.revision },
    };
  }
  if (requestPut !== undefined) {
    const memberPath = `${path}.request_put`;
    return {
      type: 'put',
      request: decodePutMessage(
        messages.putRequest.decode(requestPut, memberPath),
        memberPath,
        limits,
      ),
    };
  }
  if (requestDeleteRange !== undefined) {
    const memberPath = `${path}.request_delete_range`;
    return {
      type: 'deleteRange',
      request: decodeDeleteRangeMessage(
        messages.deleteRangeRequest.decode(requestDeleteRange, memberPath),
        memberPath,
        limits,
      ),
    };
  }
  return {
    type: 'txn',
    request: decodeTxnMessage(requestTxn, `${path}.request_txn`, limits, depth + 1, opsBudget),
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
function decodeTxnMessage(
  value: unknown,
  path: string,
  limits: ApiLimits,
  depth: number,
  opsBudget: number,
): TxnRequest {
  if (depth > MAX_TXN_DEPTH) throw badRequest('transactions nested too deeply', path);
  const decoded = messages.txnRequest.decode(value, path);
  const lists = {
    compare: decoded.compare as unknown[],
    success: decoded.success as unknown[],
    failure: decoded.failure as unknown[],
  };
  let longest: keyof typeof lists = 'compare';
  if (lists.success.length > lists[longest].length) longest = 'success';
  if (lists.failure.length > lists[longest].length) longest = 'failure';
  const levelOps = lists[longest].length;
  if (levelOps > opsBudget) throw tooManyOperations(fieldPath(path, longest));
  const nestedBudget = opsBudget - levelOps;
  const listPath = (name: string, index: number): string => `${fieldPath(path, name)}[${index}]`;
  const request: TxnRequest = {
    compare: lists.compare.map((item, index) =>
      decodeCompare(item, listPath('compare', index), limits),
    ),
    success: lists.success.map((item, index) =>
      decodeRequestOp(item, listPath('success', index), limits, depth, nestedBudget),
    ),
    failure: lists.failure.map((item, index) =>
      decodeRequestOp(item, listPath('failure', index), limits, depth, nestedBudget),
    ),
  };
  checkNoOverlappingWrites(request.success, fieldPath(path, 'success'));
  checkNoOverlappingWrites(request.failure, fieldPath(path, 'failure'));
  return request;
}

/** Decodes a `/v3/kv/txn` body. @throws ApiError (400/413) naming the field. */
export function decodeTxn(body: unknown, limits: ApiLimits): TxnRequest {
  return decodeTxnMessage(body, '', limits, 0, limits.maxTxnOps);
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

/**
 * A response header in the shape `ProtoJson.encode` reads (`ResponseHeader`'s fields under
 * their lowerCamel names), to nest in a response that is encoded whole.
 */
export function headerModel(source: HeaderSource, revision: number): JsonBody {
  return {
    clusterId: source.clusterId,
    memberId: source.memberId,
    revision,
    raftTerm: source.generation,
  };
}

/** The `header` of a top-level response. */
export function responseHeader(source: HeaderSource, revision: number): JsonBody {
  return messages.header.encode(headerModel(source, revision));
}

/** A `mvccpb.KeyValue` in gateway JSON (the store's key-value has the message's field names). */
export function keyValueJson(kv: KeyValue): JsonBody {
  return messages.keyValue.encode(kv as unknown as JsonBody);
}

function rangeModel(result: RangeResult, header: JsonBody): JsonBody {
  return { header, kvs: result.kvs, more: result.more, count: result.count };
}

function putModel(result: PutResult, header: JsonBody): JsonBody {
  if (result.prevNotRead === true) throw new Error('a prev_kv not kept reached the encoder');
  return { header, prevKv: result.prevKv };
}

function deleteRangeModel(result: DeleteRangeResult, header: JsonBody): JsonBody {
  if (result.prevNotRead === true) throw new Error('prev_kvs not kept reached the encoder');
  return { header, deleted: result.deleted, prevKvs: result.prevKvs };
}

function responseOpModel(response: ResponseOp): JsonBody {
  if (response.type === 'rangeNotRead') {
    // kv-operations answers such results with an error; showing one would fabricate a result.
    throw new Error('a range that was not read reached the response encoder');
  }
  // Inside a transaction etcd fills only the revision of each operation's header.
  const header = { revision: response.result.revision };
  switch (response.type) {
    case 'range':
      return { responseRange: rangeModel(response.result, header) };
    case 'put':
      return { responsePut: putModel(response.result, header) };
    case 'deleteRange':
      return { responseDeleteRange: deleteRangeModel(response.result, header) };
    case 'txn':
      // A nested txn's header is empty in etcd 3.4 (its operations' headers have the revision).
      return { responseTxn: txnModel(response.result, {}) };
  }
}

function txnModel(result: TxnResult, header: JsonBody): JsonBody {
  return {
    header,
    succeeded: result.succeeded,
    responses: result.responses.map(responseOpModel),
  };
}

/** A `/v3/kv/range` response. */
export function rangeResponseJson(source: HeaderSource, result: RangeResult): JsonBody {
  return messages.rangeResponse.encode(rangeModel(result, headerModel(source, result.revision)));
}

/**
 * A `/v3/kv/range` response with its `kvs` split out for {@link jsonBodySlices}, each key-value
 * materialized and encoded only when its slice is produced: joined, the slices are exactly
 * `JSON.stringify(rangeResponseJson(source, result))` for the same answer (`kvs` follows
 * `header` and comes before the other fields in `RangeResponse`); a cut body says
 * `"more":true`, as etcd does when a limit leaves keys out. `undefined` when there are no kvs
 * (etcd then omits the array, and the body is small).
 */
export function rangeResponseParts(
  source: HeaderSource,
  view: RangeView,
): SlicedArrayBody | undefined {
  if (view.length === 0) return undefined;
  const header = JSON.stringify(responseHeader(source, view.revision));
  const rest = (cut: boolean): string => {
    const text = JSON.stringify(
      messages.rangeResponse.encode({ more: view.more || cut, count: view.count }),
    );
    return text === '{}' ? '' : `,${text.slice(1, -1)}`;
  };
  const uncut = rest(false);
  return {
    open: `{"header":${header},"kvs":[`,
    itemCount: view.length,
    encodeItem: (index) => JSON.stringify(keyValueJson(view.keyValue(index))),
    close: (cut) => `]${cut ? rest(true) : uncut}}`,
  };
}

/** A `/v3/kv/put` response. */
export function putResponseJson(source: HeaderSource, result: PutResult): JsonBody {
  return messages.putResponse.encode(putModel(result, headerModel(source, result.revision)));
}

/** A `/v3/kv/deleterange` response. */
export function deleteRangeResponseJson(source: HeaderSource, result: DeleteRangeResult): JsonBody {
  return messages.deleteRangeResponse.encode(
    deleteRangeModel(result, headerModel(source, result.revision)),
  );
}

/** A `/v3/kv/txn` response. */
export function txnResponseJson(source: HeaderSource, result: TxnResult): JsonBody {
  return messages.txnResponse.encode(txnModel(result, headerModel(source, result.revision)));
}
