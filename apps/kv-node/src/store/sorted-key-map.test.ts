import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SortedKeyMap } from './sorted-key-map.js';

function keysOf(map: SortedKeyMap<number>, start = '', end?: string): string[] {
  const keys: string[] = [];
  map.scan(start, end, (key) => {
    keys.push(key);
  });
  return keys;
}

describe('SortedKeyMap', () => {
  it('keeps keys in unsigned byte order', () => {
    const map = new SortedKeyMap<number>();
    for (const key of ['b', '\xff', 'a', '\x00', 'ab', '']) map.set(key, key.length);
    expect(keysOf(map)).toEqual(['', '\x00', 'a', 'ab', 'b', '\xff']);
    expect(map.get('ab')).toBe(2);
    expect(map.get('zz')).toBeUndefined();
  });

  it('scans a half-open range and stops when the visitor returns false', () => {
    const map = new SortedKeyMap<number>();
    for (let index = 0; index < 1000; index++) map.set(String(index).padStart(4, '0'), index);
    expect(keysOf(map, '0100', '0105')).toEqual(['0100', '0101', '0102', '0103', '0104']);
    const visited: string[] = [];
    map.scan('0990', undefined, (key) => {
      visited.push(key);
      return visited.length < 3;
    });
    expect(visited).toEqual(['0990', '0991', '0992']);
  });

  it('survives deleting everything in any order', () => {
    const map = new SortedKeyMap<number>();
    const keys = Array.from({ length: 5000 }, (_, index) => `k${(index * 7919) % 5000}`);
    keys.forEach((key, index) => map.set(key, index));
    expect(map.size).toBe(5000);
    for (const key of [...keys].reverse()) expect(map.delete(key)).toBe(true);
    expect(map.size).toBe(0);
    expect(keysOf(map)).toEqual([]);
    expect(map.delete('k1')).toBe(false);
  });

  it('behaves like a sorted model under random sets, deletes and scans', () => {
    const key = fc.string({ unit: fc.constantFrom('a', 'b', 'c', '\x00', '\xff'), maxLength: 4 });
    const operation = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), key, value: fc.integer() }),
      fc.record({ kind: fc.constant('delete' as const), key }),
      fc.record({ kind: fc.constant('scan' as const), key, end: fc.option(key) }),
    );
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 400 }), (operations) => {
        const map = new SortedKeyMap<number>();
        const model = new Map<string, number>();
        for (const operation of operations) {
          if (operation.kind === 'set') {
            map.set(operation.key, operation.value);
            model.set(operation.key, operation.value);
          } else if (operation.kind === 'delete') {
            expect(map.delete(operation.key)).toBe(model.delete(operation.key));
          } else {
            const end = operation.end ?? undefined;
            const expected = [...model.keys()]
              .filter(
                (candidate) => candidate >= operation.key && (end === undefined || candidate < end),
              )
              .sort();
            expect(keysOf(map, operation.key, end)).toEqual(expected);
          }
          expect(map.size).toBe(model.size);
        }
        for (const [modelKey, value] of model) expect(map.get(modelKey)).toBe(value);
      }),
      { numRuns: 200 },
    );
  });

  it('stays consistent through many splits and merges', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 3000 })), {
          minLength: 2000,
          maxLength: 4000,
        }),
        (operations) => {
          const map = new SortedKeyMap<number>();
          const model = new Set<string>();
          for (const [insert, number] of operations) {
            const key = String(number).padStart(5, '0');
            if (insert) {
              map.set(key, number);
              model.add(key);
            } else {
              map.delete(key);
              model.delete(key);
            }
          }
          expect(keysOf(map)).toEqual([...model].sort());
        },
      ),
      { numRuns: 20 },
    );
  });

  it('bulk-loads sorted keys into a tree that then behaves like any other', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 100_000 }), { maxLength: 3000 }),
        fc.array(fc.integer({ min: 0, max: 100_000 }), { maxLength: 500 }),
        (loaded, deleted) => {
          const keys = loaded.map((number) => String(number).padStart(6, '0')).sort();
          const map = new SortedKeyMap<number>();
          map.set('stale', 1);
          map.load(keys, keys.map(Number));
          expect(map.size).toBe(keys.length);
          expect(keysOf(map)).toEqual(keys);
          const model = new Set(keys);
          for (const number of deleted) {
            const key = String(number).padStart(6, '0');
            expect(map.delete(key)).toBe(model.delete(key));
            map.set(`${key}x`, 0);
            model.add(`${key}x`);
          }
          expect(keysOf(map)).toEqual([...model].sort());
        },
      ),
      { numRuns: 50 },
    );
  });

  it('stays consistent when nearly ascending inserts leave the rightmost nodes 7/8 full', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 6000 }),
        fc.array(fc.nat(), { maxLength: 200 }),
        fc.array(fc.integer({ min: 0, max: 6000 }), { maxLength: 3000 }),
        (count, swaps, deleted) => {
          // Ascending keys, some swapped with a near neighbour, as concurrent clients commit them;
          // past 65 x 65 keys the internal nodes split at the right edge too.
          const numbers = Array.from({ length: count }, (_, index) => index);
          for (const swap of swaps) {
            if (count < 2) break;
            const at = swap % (count - 1);
            const other = Math.min(count - 1, at + 1 + (swap % 32));
            [numbers[at], numbers[other]] = [numbers[other] as number, numbers[at] as number];
          }
          const map = new SortedKeyMap<number>();
          const model = new Map<string, number>();
          for (const number of numbers) {
            const key = String(number).padStart(5, '0');
            map.set(key, number);
            model.set(key, number);
          }
          for (const number of deleted) {
            const key = String(number).padStart(5, '0');
            expect(map.delete(key)).toBe(model.delete(key));
          }
          const expected = [...model.keys()].sort();
          expect(map.size).toBe(expected.length);
          expect(keysOf(map)).toEqual(expected);
          for (const key of expected.slice(0, 50)) expect(map.get(key)).toBe(model.get(key));
          const middle = expected[expected.length >> 1] ?? '';
          expect(keysOf(map, middle)).toEqual(expected.filter((key) => key >= middle));
        },
      ),
      { numRuns: 30 },
    );
  });

  it('refuses to bulk-load keys out of order', () => {
    expect(() => new SortedKeyMap<number>().load(['b', 'a'], [1, 2])).toThrow(RangeError);
    expect(() => new SortedKeyMap<number>().load(['a', 'a'], [1, 2])).toThrow(RangeError);
  });
});
