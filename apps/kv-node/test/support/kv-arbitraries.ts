/**
 * fast-check arbitraries of the store model (requests, commands, results) for the property and
 * fuzz tests of kv-node's codecs. Byte strings are one char per byte (0-255), as the store keeps
 * them; numbers are safe integers, small and large.
 */

import fc from 'fast-check';
import type { KvCommand } from '../../src/codec/command-codec.js';
import type { CommandResult } from '../../src/store/idempotency-table.js';
import type {
  Compare,
  KeyValue,
  RangeRequest,
  RequestOp,
  ResponseOp,
  TxnRequest,
  TxnResult,
} from '../../src/store/kv-types.js';

/** A byte string of up to 12 bytes. */
export const byteString = fc.string({
  unit: fc.integer({ min: 0, max: 255 }).map((code) => String.fromCharCode(code)),
  maxLength: 12,
});

/** A non-negative safe integer, often small, sometimes at the edges. */
export const count = fc.oneof(
  fc.nat({ max: 300 }),
  fc.constantFrom(127, 128, 2 ** 32, Number.MAX_SAFE_INTEGER),
  fc.nat({ max: Number.MAX_SAFE_INTEGER }),
);

const compareResult = fc.constantFrom(
  'equal' as const,
  'not_equal' as const,
  'greater' as const,
  'less' as const,
);

/** A transaction comparison of any target. */
export const compare: fc.Arbitrary<Compare> = fc.oneof(
  fc.record({
    target: fc.constantFrom('version' as const, 'create' as const, 'mod' as const),
    result: compareResult,
    key: byteString,
    rangeEnd: byteString,
    operand: count,
  }),
  fc.record({
    target: fc.constant('value' as const),
    result: compareResult,
    key: byteString,
    rangeEnd: byteString,
    operand: byteString,
  }),
  fc.record({
    target: fc.constant('lease' as const),
    result: compareResult,
    key: byteString,
    rangeEnd: byteString,
    operand: fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }).map(String),
  }),
);

/** A range request with every field set. */
export const rangeRequest: fc.Arbitrary<RangeRequest> = fc.record({
  key: byteString,
  rangeEnd: byteString,
  limit: count,
  keysOnly: fc.boolean(),
  countOnly: fc.boolean(),
  sortOrder: fc.constantFrom('none' as const, 'ascend' as const, 'descend' as const),
  sortTarget: fc.constantFrom(
    'key' as const,
    'version' as const,
    'create' as const,
    'mod' as const,
    'value' as const,
  ),
  minModRevision: count,
  maxModRevision: count,
  minCreateRevision: count,
  maxCreateRevision: count,
});

/** A lease id: a canonical non-zero int64 as a decimal string. */
export const leaseId = fc.oneof(
  fc.constantFrom('1', '-1', '9223372036854775807', '-9223372036854775808'),
  fc
    .bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })
    .filter((id) => id !== 0n)
    .map(String),
);

// Some puts attach a lease (the log then carries the leases beside the request).
const put = fc.record(
  { key: byteString, value: byteString, prevKv: fc.boolean(), lease: leaseId },
  { requiredKeys: ['key', 'value', 'prevKv'] },
);

/** A lease grant or revoke. */
export const leaseCommand = fc.oneof(
  fc.record({ op: fc.constant('grant' as const), id: leaseId, ttlSeconds: count }),
  fc.record({ op: fc.constant('revoke' as const), id: leaseId, expired: fc.boolean() }),
);
const deleteRange = fc.record({ key: byteString, rangeEnd: byteString, prevKv: fc.boolean() });

/** A transaction, nested a few levels at most. */
export const { txn: txnRequest } = fc.letrec<{ txn: TxnRequest; op: RequestOp }>((tie) => ({
  op: fc.oneof(
    { depthSize: 'small', maxDepth: 4 },
    fc.record({ type: fc.constant('range' as const), request: rangeRequest }),
    fc.record({ type: fc.constant('put' as const), request: put }),
    fc.record({ type: fc.constant('deleteRange' as const), request: deleteRange }),
    fc.record({ type: fc.constant('txn' as const), request: tie('txn') }),
  ),
  txn: fc.record({
    compare: fc.array(compare, { maxLength: 2 }),
    success: fc.array(tie('op'), { maxLength: 3 }),
    failure: fc.array(tie('op'), { maxLength: 2 }),
  }),
}));

/** A replicated command, with or without a request id. */
export const kvCommand: fc.Arbitrary<KvCommand> = fc
  .oneof(
    fc.record({ type: fc.constant('put' as const), request: put }),
    fc.record({ type: fc.constant('deleteRange' as const), request: deleteRange }),
    fc.record({ type: fc.constant('txn' as const), request: txnRequest }),
    fc.record({ type: fc.constant('lease' as const), request: leaseCommand }),
  )
  .chain((body) =>
    fc
      .option(fc.string({ minLength: 1, maxLength: 12 }), { nil: undefined })
      .map((id): KvCommand => (id === undefined ? body : { ...body, requestId: id })),
  );

/** A stored key-value with its metadata. */
export const keyValue: fc.Arbitrary<KeyValue> = fc.record({
  key: byteString,
  value: byteString,
  createRevision: count,
  modRevision: count,
  version: count,
});

const kvs = fc.array(keyValue, { maxLength: 3 });

/** The result of any operation, nested a few levels at most. */
export const { response: responseOp } = fc.letrec<{ response: ResponseOp; txn: TxnResult }>(
  (tie) => ({
    response: fc.oneof(
      { depthSize: 'small', maxDepth: 4 },
      fc.record({
        type: fc.constant('range' as const),
        result: fc.record({ kvs, more: fc.boolean(), count, revision: count }),
      }),
      fc.record({
        type: fc.constant('put' as const),
        result: fc.record({ revision: count, prevKv: keyValue }, { requiredKeys: ['revision'] }),
      }),
      fc.record({
        type: fc.constant('deleteRange' as const),
        result: fc.record({ deleted: count, prevKvs: kvs, revision: count }),
      }),
      fc.record({ type: fc.constant('txn' as const), result: tie('txn') }),
    ),
    txn: fc.record({
      succeeded: fc.boolean(),
      responses: fc.array(tie('response'), { maxLength: 3 }),
      revision: count,
    }),
  }),
);

/** The result of a write (what the idempotency table and forwarded answers hold). */
export const commandResult: fc.Arbitrary<CommandResult> = responseOp.filter(
  (result): result is CommandResult => result.type !== 'range',
);
