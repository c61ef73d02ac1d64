import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { KeyPermission } from './key-permissions.js';
import { grantedIntervals, intervalOf, isCovered, mergeIntervals } from './key-permissions.js';

const read = (key: string, rangeEnd = ''): KeyPermission => ({ type: 'read', key, rangeEnd });

/** Whether `key` lies in the permission's interval (etcd's rules, written out directly). */
function inPermission(key: string, permission: KeyPermission): boolean {
  if (permission.rangeEnd === '') return key === permission.key;
  if (permission.rangeEnd === '\0') return key >= permission.key;
  if (permission.rangeEnd <= permission.key) return key === permission.key;
  return key >= permission.key && key < permission.rangeEnd;
}

/**
 * An independent oracle: coverage of a contiguous request can only stop at its start or at the
 * end of some permission, so checking those points decides it exactly.
 */
function oracle(permissions: KeyPermission[], key: string, rangeEnd: string): boolean {
  const wanted = intervalOf(key, rangeEnd);
  const points = [wanted.start];
  for (const permission of permissions) {
    const end = intervalOf(permission.key, permission.rangeEnd).end;
    if (
      end !== undefined &&
      end >= wanted.start &&
      (wanted.end === undefined || end < wanted.end)
    ) {
      points.push(end);
    }
  }
  return points.every((point) => permissions.some((permission) => inPermission(point, permission)));
}

// Few distinct bytes, so that keys, prefixes and range ends collide often.
const byteKey = fc
  .array(fc.constantFrom('\0', 'a', 'b', 'c', '\xff'), { minLength: 1, maxLength: 3 })
  .map((chars) => chars.join(''));
const rangeEnd = fc.oneof(fc.constant(''), fc.constant('\0'), byteKey);
const permission = fc.record({
  type: fc.constant('read' as const),
  key: byteKey,
  rangeEnd,
});

describe('key-range permissions', () => {
  it('matches a single key, a range and an open-ended range as etcd does', () => {
    const granted = grantedIntervals([read('a'), read('foo/', 'foo0'), read('z', '\0')], 'read');
    expect(isCovered(granted, 'a', '')).toBe(true);
    expect(isCovered(granted, 'a\0', '')).toBe(false);
    expect(isCovered(granted, 'a', 'b')).toBe(false);
    expect(isCovered(granted, 'foo/bar', '')).toBe(true);
    expect(isCovered(granted, 'foo/', 'foo0')).toBe(true);
    expect(isCovered(granted, 'foo/', 'foo1')).toBe(false);
    expect(isCovered(granted, 'foo', '')).toBe(false);
    expect(isCovered(granted, 'zzz', '\0')).toBe(true);
    expect(isCovered(granted, 'y', '\0')).toBe(false);
  });

  it('joins adjacent and overlapping permissions (etcd merges them)', () => {
    const granted = grantedIntervals([read('a', 'c'), read('c', 'e'), read('d', 'f')], 'read');
    expect(granted).toEqual([{ start: 'a', end: 'f' }]);
    expect(isCovered(granted, 'a', 'f')).toBe(true);
    expect(isCovered(granted, 'a', 'g')).toBe(false);
  });

  it('counts READWRITE for both accesses and WRITE only for writes', () => {
    const permissions: KeyPermission[] = [
      { type: 'write', key: 'w', rangeEnd: '' },
      { type: 'readwrite', key: 'rw', rangeEnd: '' },
    ];
    expect(isCovered(grantedIntervals(permissions, 'read'), 'w', '')).toBe(false);
    expect(isCovered(grantedIntervals(permissions, 'write'), 'w', '')).toBe(true);
    expect(isCovered(grantedIntervals(permissions, 'read'), 'rw', '')).toBe(true);
    expect(isCovered(grantedIntervals(permissions, 'write'), 'rw', '')).toBe(true);
  });

  it('never allows anything without permissions', () => {
    expect(isCovered([], 'a', '')).toBe(false);
    expect(isCovered([], '\0', '\0')).toBe(false);
  });

  it('agrees with the point oracle on random permissions and requests', () => {
    fc.assert(
      fc.property(
        fc.array(permission, { maxLength: 6 }),
        byteKey,
        rangeEnd,
        (permissions, key, end) => {
          const granted = grantedIntervals(permissions, 'read');
          expect(isCovered(granted, key, end)).toBe(oracle(permissions, key, end));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('merges into sorted, disjoint, non-adjacent intervals', () => {
    fc.assert(
      fc.property(fc.array(permission, { maxLength: 8 }), (permissions) => {
        const merged = mergeIntervals(
          permissions.map((each) => intervalOf(each.key, each.rangeEnd)),
        );
        for (let index = 1; index < merged.length; index++) {
          const previous = merged[index - 1];
          const current = merged[index];
          expect(previous?.end).toBeDefined();
          expect((previous?.end as string) < (current?.start as string)).toBe(true);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
