import { describe, expect, it } from 'vitest';
import { FailureThrottle } from './failure-throttle.js';

describe('FailureThrottle', () => {
  it('blocks a name after its free failures, for a delay that doubles', () => {
    const throttle = new FailureThrottle({ freeFailures: 2, baseDelayMs: 100, maxDelayMs: 250 });
    throttle.failed('a', 0);
    throttle.failed('a', 0);
    expect(throttle.isBlocked('a', 0)).toBe(false);
    throttle.failed('a', 0);
    expect(throttle.isBlocked('a', 99)).toBe(true);
    expect(throttle.isBlocked('a', 100)).toBe(false);
    throttle.failed('a', 100);
    expect(throttle.isBlocked('a', 299)).toBe(true);
    throttle.failed('a', 300);
    expect(throttle.isBlocked('a', 549)).toBe(true);
    expect(throttle.isBlocked('a', 550)).toBe(false);
    expect(throttle.isBlocked('b', 0)).toBe(false);
    throttle.succeeded('a');
    expect(throttle.isBlocked('a', 300)).toBe(false);
  });

  it('remembers at most maxTracked names, forgetting the oldest', () => {
    const throttle = new FailureThrottle({ maxTracked: 100, freeFailures: 0 });
    for (let index = 0; index < 100_000; index++) throttle.failed(`name-${index}`, 0);
    expect(throttle.size).toBe(100);
    expect(throttle.isBlocked('name-99999', 0)).toBe(true);
    expect(throttle.isBlocked('name-0', 0)).toBe(false);
  });
});
