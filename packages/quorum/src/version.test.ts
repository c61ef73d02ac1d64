import { describe, expect, it } from 'vitest';
import { pickNewest } from './pick-newest.js';
import { compareVersions, newer, nextVersion } from './version.js';

describe('versions', () => {
  it('orders by counter, then writer; nothing is oldest', () => {
    expect(compareVersions({ counter: 1, writer: 'b' }, { counter: 2, writer: 'a' })).toBeLessThan(
      0,
    );
    expect(
      compareVersions({ counter: 2, writer: 'a' }, { counter: 1, writer: 'b' }),
    ).toBeGreaterThan(0);
    expect(compareVersions({ counter: 2, writer: 'a' }, { counter: 2, writer: 'b' })).toBeLessThan(
      0,
    );
    expect(
      compareVersions({ counter: 2, writer: 'b' }, { counter: 2, writer: 'a' }),
    ).toBeGreaterThan(0);
    expect(compareVersions({ counter: 2, writer: 'a' }, { counter: 2, writer: 'a' })).toBe(0);
    expect(compareVersions(undefined, { counter: 0, writer: '' })).toBeLessThan(0);
    expect(compareVersions({ counter: 0, writer: '' }, undefined)).toBeGreaterThan(0);
    expect(compareVersions(undefined, undefined)).toBe(0);
  });

  it('takes the next counter after the newest read', () => {
    expect(nextVersion(undefined, 'client-1')).toEqual({ counter: 1, writer: 'client-1' });
    expect(nextVersion({ counter: 7, writer: 'x' }, 'y')).toEqual({ counter: 8, writer: 'y' });
    expect(() => nextVersion({ counter: Number.MAX_SAFE_INTEGER, writer: 'x' }, 'y')).toThrow(
      RangeError,
    );
  });

  it('keeps the newer value, so a late old write changes nothing', () => {
    const old = { value: 'old', version: { counter: 1, writer: 'a' } };
    const recent = { value: 'new', version: { counter: 2, writer: 'a' } };
    expect(newer(recent, old)).toBe(recent);
    expect(newer(old, recent)).toBe(recent);
    expect(newer(undefined, old)).toBe(old);
    expect(newer(old, undefined)).toBe(old);
    expect(newer(undefined, undefined)).toBeUndefined();
  });

  it('picks the newest reply and names the stale and fresh nodes', () => {
    const v1 = { value: 'one', version: { counter: 1, writer: 'a' } };
    const v2 = { value: 'two', version: { counter: 2, writer: 'a' } };
    expect(
      pickNewest([
        { node: 'athens', response: v1 },
        { node: 'byzantium', response: v2 },
        { node: 'cyrene', response: undefined },
        { node: 'delphi', response: v2 },
      ]),
    ).toEqual({
      newest: v2,
      staleNodes: ['athens', 'cyrene'],
      freshNodes: ['byzantium', 'delphi'],
    });
    expect(pickNewest<string>([{ node: 'athens', response: undefined }])).toEqual({
      newest: undefined,
      staleNodes: [],
      freshNodes: ['athens'],
    });
  });
});
