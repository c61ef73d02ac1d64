import { describe, expect, it } from 'vitest';
import { backoffDelayMs } from './backoff.js';

const fixed = (value: number) => ({ next: () => value });

describe('backoffDelayMs', () => {
  it('doubles from the initial delay up to the cap', () => {
    const delays = [0, 1, 2, 3, 10, 100].map((attempt) =>
      backoffDelayMs(attempt, fixed(0), { initialDelayMs: 10, maxDelayMs: 100, multiplier: 2 }),
    );
    expect(delays).toEqual([10, 20, 40, 80, 100, 100]);
  });

  it('takes up to the jitter fraction off, drawn from the Random port', () => {
    expect(backoffDelayMs(0, fixed(0.999999), { initialDelayMs: 100, jitter: 0.5 })).toBeCloseTo(
      50,
      3,
    );
    expect(backoffDelayMs(0, fixed(0.5), { initialDelayMs: 100, jitter: 0.5 })).toBe(75);
    expect(backoffDelayMs(0, fixed(0.5), { initialDelayMs: 100, jitter: 0 })).toBe(100);
  });
});
