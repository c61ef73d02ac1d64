import { describe, expect, it } from 'vitest';
import { nodeWallClock } from './node-clock.js';

describe('nodeWallClock', () => {
  it('reads Date.now()', () => {
    const before = Date.now();
    const reading = nodeWallClock.now();
    expect(reading).toBeGreaterThanOrEqual(before);
    expect(reading).toBeLessThanOrEqual(Date.now());
  });
});
