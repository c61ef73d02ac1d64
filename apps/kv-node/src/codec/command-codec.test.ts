import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Compare, RequestOp, TxnRequest } from '../store/kv-types.js';
import { rangeRequest } from '../store/kv-types.js';
import { MalformedEncodingError } from './binary-reader.js';
import { BinaryReader } from './binary-reader.js';
import { BinaryWriter } from './binary-writer.js';
import type { KvCommand } from './command-codec.js';
import { decodeCommand, encodeCommand } from './command-codec.js';

const bytes = fc.string({
  unit: fc.integer({ min: 0, max: 255 }).map((code) => String.fromCharCode(code)),
});
const revision = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const compare: fc.Arbitrary<Compare> = fc.oneof(
  fc.record({
    target: fc.constantFrom('version' as const, 'create' as const, 'mod' as const),
    result: fc.constantFrom(
      'equal' as const,
      'not_equal' as const,
      'greater' as const,
      'less' as const,
    ),
    key: bytes,
    rangeEnd: bytes,
    operand: revision,
  }),
  fc.record({
    target: fc.constant('value' as const),
    result: fc.constantFrom(
      'equal' as const,
      'not_equal' as const,
      'greater' as const,
      'less' as const,
    ),
    key: bytes,
    rangeEnd: bytes,
    operand: bytes,
  }),
);
const range = fc
  .record({
    key: bytes,
    rangeEnd: bytes,
    limit: revision,
    keysOnly: fc.boolean(),
    countOnly: fc.boolean(),
    sortOrder: fc.constantFrom('none' as const, 'ascend' as const, 'descend' as const),
    sortTarget: fc.constantFrom('key' as const, 'version' as const, 'value' as const),
    minModRevision: revision,
  })
  .map(({ key, ...overrides }) => rangeRequest(key, overrides));
const { txn } = fc.letrec<{ txn: TxnRequest; op: RequestOp }>((tie) => ({
  op: fc.oneof(
    { depthSize: 'small' },
    fc.record({ type: fc.constant('range' as const), request: range }),
    fc.record({
      type: fc.constant('put' as const),
      request: fc.record({ key: bytes, value: bytes, prevKv: fc.boolean() }),
    }),
    fc.record({
      type: fc.constant('deleteRange' as const),
      request: fc.record({ key: bytes, rangeEnd: bytes, prevKv: fc.boolean() }),
    }),
    fc.record({
      type: fc.constant('txn' as const),
      request: tie('txn'),
    }),
  ),
  txn: fc.record({
    compare: fc.array(compare, { maxLength: 3 }),
    success: fc.array(tie('op'), { maxLength: 3 }),
    failure: fc.array(tie('op'), { maxLength: 3 }),
  }),
}));
const requestId = fc.option(fc.string({ minLength: 1, maxLength: 20 }), { nil: undefined });
const command: fc.Arbitrary<KvCommand> = fc
  .oneof(
    fc.record({
      type: fc.constant('put' as const),
      request: fc.record({ key: bytes, value: bytes, prevKv: fc.boolean() }),
    }),
    fc.record({
      type: fc.constant('deleteRange' as const),
      request: fc.record({ key: bytes, rangeEnd: bytes, prevKv: fc.boolean() }),
    }),
    fc.record({ type: fc.constant('txn' as const), request: txn }),
  )
  .chain((body) =>
    requestId.map((id): KvCommand => (id === undefined ? body : { ...body, requestId: id })),
  );

describe('command codec', () => {
  it('round-trips every command', () => {
    fc.assert(
      fc.property(command, (original) => {
        expect(decodeCommand(encodeCommand(original)).command).toEqual(original);
      }),
      { numRuns: 500 },
    );
  });

  it('is compact: a put of a 16-byte key and 100-byte value takes under 125 bytes', () => {
    const encoded = encodeCommand({
      type: 'put',
      request: { key: 'k'.repeat(16), value: 'v'.repeat(100), prevKv: false },
    });
    expect(encoded.byteLength).toBeLessThan(125);
  });

  it('fingerprints the body so a reused request id can be told from a retry', () => {
    const first = decodeCommand(
      encodeCommand({
        type: 'put',
        request: { key: 'a', value: '1', prevKv: false },
        requestId: 'r',
      }),
    );
    const retry = decodeCommand(
      encodeCommand({
        type: 'put',
        request: { key: 'a', value: '1', prevKv: false },
        requestId: 'r',
      }),
    );
    const other = decodeCommand(
      encodeCommand({
        type: 'put',
        request: { key: 'a', value: '2', prevKv: false },
        requestId: 'r',
      }),
    );
    expect(retry.bodyFingerprint).toBe(first.bodyFingerprint);
    expect(other.bodyFingerprint).not.toBe(first.bodyFingerprint);
  });

  it('rejects truncated and foreign bytes with MalformedEncodingError', () => {
    const encoded = encodeCommand({
      type: 'txn',
      request: {
        compare: [],
        success: [{ type: 'range', request: rangeRequest('a') }],
        failure: [],
      },
    });
    for (let length = 0; length < encoded.byteLength; length++) {
      expect(() => decodeCommand(encoded.subarray(0, length))).toThrow(MalformedEncodingError);
    }
    expect(() => decodeCommand(Uint8Array.of(9, 1, 0))).toThrow(MalformedEncodingError);
    expect(() => decodeCommand(Uint8Array.of(1, 9, 0))).toThrow(MalformedEncodingError);
  });
});

describe('varints', () => {
  it('round-trip every safe integer', () => {
    fc.assert(
      fc.property(fc.array(revision), (numbers) => {
        const writer = new BinaryWriter(1);
        for (const number of numbers) writer.writeVarint(number);
        const reader = new BinaryReader(writer.finish());
        expect(numbers.map(() => reader.readVarint())).toEqual(numbers);
        expect(reader.atEnd).toBe(true);
      }),
    );
  });
});

describe('encodeCommand buffers', () => {
  it('returns a buffer of exactly the command, not a view of a larger pooled one', () => {
    const encoded = encodeCommand({
      type: 'put',
      request: { key: 'k', value: 'v'.repeat(1300), prevKv: false },
    });
    expect(encoded.buffer.byteLength).toBe(encoded.byteLength);
    expect(encoded.byteOffset).toBe(0);
  });
});
