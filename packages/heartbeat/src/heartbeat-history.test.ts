import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HeartbeatHistory } from './heartbeat-history.js';

describe('HeartbeatHistory', () => {
  it('is empty at first', () => {
    const history = new HeartbeatHistory(3);
    expect(history.size).toBe(0);
    expect(history.mean()).toBe(0);
    expect(history.standardDeviation()).toBe(0);
  });

  it('matches a brute-force mean and deviation of the last `capacity` intervals', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.integer({ min: 0, max: 5000 }), { maxLength: 40 }),
        (capacity, intervals) => {
          const history = new HeartbeatHistory(capacity);
          for (const interval of intervals) history.add(interval);
          const window = intervals.slice(-capacity);
          expect(history.size).toBe(window.length);
          if (window.length === 0) return;
          const mean = window.reduce((sum, x) => sum + x, 0) / window.length;
          const variance = window.reduce((sum, x) => sum + (x - mean) ** 2, 0) / window.length;
          expect(history.mean()).toBeCloseTo(mean, 6);
          expect(history.standardDeviation()).toBeCloseTo(Math.sqrt(variance), 4);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('rejects a capacity that is not a positive integer', () => {
    for (const capacity of [0, -1, 1.5, Number.NaN]) {
      expect(() => new HeartbeatHistory(capacity)).toThrow(RangeError);
    }
  });
});
