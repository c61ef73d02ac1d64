import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ClockDecodeError } from './errors.js';
import { DEFAULT_MAX_VERSION_VECTOR_NODES, VersionVector } from './version-vector.js';

const vector = (counts: Record<string, number>): VersionVector =>
  VersionVector.from(Object.entries(counts));

const nodeId = fc.constantFrom('athens', 'byzantium', 'cyrene', 'delphi');
const arbitraryVector: fc.Arbitrary<VersionVector> = fc
  .array(fc.tuple(nodeId, fc.nat({ max: 4 })), { maxLength: 6 })
  .map((entries) => VersionVector.from(new Map(entries)));

describe('VersionVector', () => {
  it('increments one node at a time, immutably', () => {
    const empty = VersionVector.empty;
    const one = empty.increment('athens');
    const two = one.increment('athens').increment('cyrene');
    expect(empty.size).toBe(0);
    expect(one.get('athens')).toBe(1);
    expect(two.entries()).toEqual([
      ['athens', 2],
      ['cyrene', 1],
    ]);
    expect(two.get('byzantium')).toBe(0);
  });

  it('compares: before, after, equal, concurrent', () => {
    const base = vector({ athens: 1 });
    const later = base.increment('athens');
    const sibling = base.increment('byzantium');
    expect(base.compare(later)).toBe('before');
    expect(later.compare(base)).toBe('after');
    expect(later.compare(vector({ athens: 2 }))).toBe('equal');
    expect(later.compare(sibling)).toBe('concurrent');
    expect(VersionVector.empty.compare(vector({ athens: 0 }))).toBe('equal');
    expect(VersionVector.empty.compare(base)).toBe('before');
  });

  it('merges to each node’s larger count', () => {
    const merged = vector({ athens: 2, byzantium: 1 }).merge(vector({ byzantium: 3, cyrene: 1 }));
    expect(merged.toJSON()).toEqual({ athens: 2, byzantium: 3, cyrene: 1 });
  });

  it('validates node ids and counts', () => {
    expect(() => VersionVector.empty.increment('')).toThrow(RangeError);
    expect(() => VersionVector.empty.increment('x'.repeat(256))).toThrow(RangeError);
    expect(VersionVector.empty.increment('x'.repeat(255)).size).toBe(1);
    expect(() => vector({ athens: -1 })).toThrow(RangeError);
    expect(() => vector({ athens: 1.5 })).toThrow(RangeError);
    expect(() => vector({ athens: Number.MAX_SAFE_INTEGER }).increment('athens')).toThrow(
      RangeError,
    );
  });

  it('round-trips through JSON, even with awkward node ids', () => {
    const original = VersionVector.from([
      ['__proto__', 1],
      ['constructor', 2],
      ['1', 3],
      ['é"\\\n', 4],
    ]);
    const decoded = VersionVector.decode(original.encode());
    expect(decoded.compare(original)).toBe('equal');
    expect(decoded.get('__proto__')).toBe(1);
    expect(Object.getPrototypeOf(original.toJSON())).toBe(Object.prototype);
  });

  it('refuses malformed or oversized input with a ClockDecodeError', () => {
    for (const bad of [
      'null',
      '[]',
      '3',
      '"athens"',
      '{"athens":-1}',
      '{"athens":1.5}',
      '{"athens":"1"}',
      '{"athens":9007199254740992}',
      '{"":1}',
      `{"${'x'.repeat(256)}":1}`,
      '{"athens":1',
      '',
    ]) {
      expect(() => VersionVector.decode(bad), bad).toThrow(ClockDecodeError);
    }
    expect(() => VersionVector.fromJSON(undefined)).toThrow(ClockDecodeError);
    const three = '{"a":1,"b":1,"c":1}';
    expect(VersionVector.decode(three, { maxNodes: 3 }).size).toBe(3);
    expect(() => VersionVector.decode(three, { maxNodes: 2 })).toThrow(/more than the limit of 2/);
    // The text length is bounded before parsing.
    const huge = ' '.repeat(3 + DEFAULT_MAX_VERSION_VECTOR_NODES * 1550);
    expect(() => VersionVector.decode(huge)).toThrow(/characters, more than/);
    expect(() => VersionVector.decode('{}', { maxNodes: -1 })).toThrow(RangeError);
  });

  it('accepts the longest compact JSON the node bound allows', () => {
    const ids = ['\u0001'.repeat(255), '\u0002'.repeat(255)];
    const longest = VersionVector.from(ids.map((id) => [id, Number.MAX_SAFE_INTEGER]));
    expect(VersionVector.decode(longest.encode(), { maxNodes: 2 }).compare(longest)).toBe('equal');
  });
});

describe('VersionVector properties', () => {
  it('merge is commutative, associative and idempotent', () => {
    fc.assert(
      fc.property(arbitraryVector, arbitraryVector, arbitraryVector, (a, b, c) => {
        expect(a.merge(b).compare(b.merge(a))).toBe('equal');
        expect(
          a
            .merge(b)
            .merge(c)
            .compare(a.merge(b.merge(c))),
        ).toBe('equal');
        expect(a.merge(a).compare(a)).toBe('equal');
      }),
    );
  });

  it('merge is the least upper bound: at or after both, and below any other such vector', () => {
    fc.assert(
      fc.property(arbitraryVector, arbitraryVector, arbitraryVector, (a, b, c) => {
        const merged = a.merge(b);
        expect(['after', 'equal']).toContain(merged.compare(a));
        expect(['after', 'equal']).toContain(merged.compare(b));
        const aboveBoth = ['after', 'equal'];
        if (aboveBoth.includes(c.compare(a)) && aboveBoth.includes(c.compare(b))) {
          expect(aboveBoth).toContain(c.compare(merged));
        }
      }),
    );
  });

  it('compare is antisymmetric and agrees with the counts', () => {
    const flip = { before: 'after', after: 'before', equal: 'equal', concurrent: 'concurrent' };
    fc.assert(
      fc.property(arbitraryVector, arbitraryVector, (a, b) => {
        const order = a.compare(b);
        expect(b.compare(a)).toBe(flip[order]);
        const nodes = new Set([...a.entries(), ...b.entries()].map(([node]) => node));
        const atMost = [...nodes].every((node) => a.get(node) <= b.get(node));
        const atLeast = [...nodes].every((node) => a.get(node) >= b.get(node));
        const expected =
          atMost && atLeast ? 'equal' : atMost ? 'before' : atLeast ? 'after' : 'concurrent';
        expect(order).toBe(expected);
      }),
    );
  });

  it('an increment is after what it increments; two nodes’ increments are concurrent', () => {
    fc.assert(
      fc.property(arbitraryVector, nodeId, nodeId, (a, first, second) => {
        expect(a.increment(first).compare(a)).toBe('after');
        if (first !== second) {
          expect(a.increment(first).compare(a.increment(second))).toBe('concurrent');
        }
      }),
    );
  });

  it('round-trips through its encoding', () => {
    fc.assert(
      fc.property(arbitraryVector, (a) => {
        expect(VersionVector.decode(a.encode()).compare(a)).toBe('equal');
        expect(VersionVector.decode(a.encode()).encode()).toBe(a.encode());
      }),
    );
  });

  it('decodes arbitrary JSON to a valid vector or refuses it', () => {
    fc.assert(
      fc.property(fc.json({ maxDepth: 2 }), (text) => {
        let decoded: VersionVector;
        try {
          decoded = VersionVector.decode(text);
        } catch (error) {
          expect(error).toBeInstanceOf(ClockDecodeError);
          return;
        }
        for (const [node, count] of decoded.entries()) {
          expect(node.length).toBeGreaterThan(0);
          expect(Number.isSafeInteger(count) && count > 0).toBe(true);
        }
      }),
    );
  });
});
