import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FollowerHighWaterMark } from './follower-high-water-mark.js';

describe('FollowerHighWaterMark', () => {
  it('applies up to the smaller of the leader mark and the matching local log', () => {
    const follower = new FollowerHighWaterMark();
    expect(follower.applicableIndex).toBe(0);
    expect(follower.update(10, 7)).toBe(7);
    expect(follower.update(10, 12)).toBe(10);
    expect(follower.applicableIndex).toBe(10);
  });

  it('never decreases on an older mark or a shorter log', () => {
    const follower = new FollowerHighWaterMark(5);
    expect(follower.update(3, 9)).toBe(5);
    expect(follower.update(9, 2)).toBe(5);
    expect(follower.update(8, 8)).toBe(8);
  });

  it('rejects invalid indexes', () => {
    expect(() => new FollowerHighWaterMark(-1)).toThrow(RangeError);
    const follower = new FollowerHighWaterMark();
    expect(() => follower.update(Number.NaN, 1)).toThrow(RangeError);
    expect(() => follower.update(1, 2 ** 53)).toThrow(RangeError);
  });

  it('is the running maximum of min(mark, last matching index) for any message order', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(50), fc.nat(50)), { maxLength: 30 }), (updates) => {
        const follower = new FollowerHighWaterMark();
        let expected = 0;
        for (const [mark, last] of updates) {
          expected = Math.max(expected, Math.min(mark, last));
          expect(follower.update(mark, last)).toBe(expected);
        }
      }),
      { numRuns: 300 },
    );
  });
});
