import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ApiError } from './api-error.js';
import { DEFAULT_API_LIMITS } from './api-limits.js';
import { decodeTxn } from './etcd-json.js';

const b64 = (text: string): string => Buffer.from(text).toString('base64');

/** A txn shape: list lengths, and which success/failure operations are nested txns. */
interface Shape {
  compare: number;
  success: (Shape | 'range')[];
  failure: (Shape | 'range')[];
}

/** etcd 3.4's v3rpc checkTxnRequest / checkRequestOp, transcribed: the oracle of the rule. */
function etcdAccepts(shape: Shape, maxTxnOps: number): boolean {
  const opc = Math.max(shape.compare, shape.success.length, shape.failure.length);
  if (opc > maxTxnOps) return false;
  for (const op of [...shape.success, ...shape.failure]) {
    if (op !== 'range' && !etcdAccepts(op, maxTxnOps - opc)) return false;
  }
  return true;
}

function toJson(shape: Shape): unknown {
  const op = (each: Shape | 'range'): unknown =>
    each === 'range'
      ? { request_range: { key: b64('a'), range_end: b64('\0') } }
      : { request_txn: toJson(each) };
  return {
    compare: Array.from({ length: shape.compare }, () => ({ key: b64('c'), target: 'VERSION' })),
    success: shape.success.map(op),
    failure: shape.failure.map(op),
  };
}

const shapes: fc.Arbitrary<Shape> = fc.letrec<{ shape: Shape; op: Shape | 'range' }>((tie) => ({
  shape: fc.record({
    compare: fc.nat({ max: 7 }),
    success: fc.array(tie('op'), { maxLength: 6 }),
    failure: fc.array(tie('op'), { maxLength: 6 }),
  }),
  // Mostly ranges, so that shapes stay small; nesting up to 4 levels.
  op: fc.oneof(
    { maxDepth: 4, depthIdentifier: 'txn', withCrossShrink: true },
    { arbitrary: fc.constant('range' as const), weight: 4 },
    { arbitrary: tie('shape'), weight: 1 },
  ),
})).shape;

function accepted(shape: Shape, maxTxnOps: number): boolean {
  try {
    decodeTxn(toJson(shape), { ...DEFAULT_API_LIMITS, maxTxnOps });
    return true;
  } catch (error) {
    if (error instanceof ApiError && error.details.reason === 'too_many_operations') return false;
    throw error;
  }
}

describe("the txn operation budget (etcd 3.4's checkTxnRequest)", () => {
  it('accepts exactly the shapes etcd accepts, at any nesting', () => {
    fc.assert(
      fc.property(shapes, fc.integer({ min: 0, max: 10 }), (shape, maxTxnOps) => {
        expect(accepted(shape, maxTxnOps)).toBe(etcdAccepts(shape, maxTxnOps));
      }),
      { numRuns: 1000 },
    );
  });

  it("refuses issue 23's probe: 1 put + 127 nested txns of 128 ranges, 400 as etcd", () => {
    const probe: Shape = {
      compare: 0,
      success: [
        'range',
        ...Array.from({ length: 127 }, () => ({
          compare: 0,
          success: Array.from({ length: 128 }, () => 'range' as const),
          failure: [],
        })),
      ],
      failure: [],
    };
    let thrown: unknown;
    try {
      decodeTxn(toJson(probe), DEFAULT_API_LIMITS);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ApiError);
    expect((thrown as ApiError).message).toBe('etcdserver: too many operations in txn request');
    expect((thrown as ApiError).details).toMatchObject({ status: 400, grpcCode: 3 });
  });

  it('lets nested txns use what their parent level left, and siblings each get it', () => {
    const ranges = (count: number): 'range'[] => Array.from({ length: count }, () => 'range');
    const nested = (count: number): Shape => ({ compare: 0, success: ranges(count), failure: [] });
    const level = (top: number, inner: number): Shape => ({
      compare: 0,
      success: [...ranges(top - 1), nested(inner)],
      failure: [],
    });
    expect(accepted(level(64, 64), 128)).toBe(true);
    expect(accepted(level(64, 65), 128)).toBe(false);
    const siblings = (inner: number): Shape => ({
      compare: 0,
      success: ['range'],
      failure: [nested(inner), nested(inner)],
    });
    expect(accepted(siblings(126), 128)).toBe(true);
    expect(accepted(siblings(127), 128)).toBe(false);
  });
});

describe("a comparison of a key's LEASE", () => {
  const decodeCompare = (compare: Record<string, unknown>) =>
    decodeTxn({ compare: [{ key: b64('k'), ...compare }] }, DEFAULT_API_LIMITS).compare[0];

  it('decodes the target by name or number and the lease as an int64 string or number', () => {
    const expected = { target: 'lease', result: 'equal', key: 'k', rangeEnd: '' };
    expect(decodeCompare({ target: 'LEASE', lease: '7001' })).toEqual({
      ...expected,
      operand: '7001',
    });
    expect(decodeCompare({ target: 4, lease: 7001, result: 'GREATER' })).toEqual({
      ...expected,
      result: 'greater',
      operand: '7001',
    });
    expect(decodeCompare({ target: 'LEASE', lease: '-9223372036854775808' })).toMatchObject({
      operand: '-9223372036854775808',
    });
    // Absent: 0, as protobuf's zero value.
    expect(decodeCompare({ target: 'LEASE' })).toMatchObject({ operand: '0' });
  });

  it('refuses a lease that is not an int64, naming the field', () => {
    expect(() => decodeCompare({ target: 'LEASE', lease: '9223372036854775808' })).toThrow(
      'compare[0].lease must be a 64-bit integer',
    );
    expect(() => decodeCompare({ target: 'LEASE', lease: 'seven' })).toThrow(ApiError);
  });
});
