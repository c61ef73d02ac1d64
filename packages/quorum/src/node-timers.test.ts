import { describe, expect, it } from 'vitest';
import { nodeTimers } from './node-timers.js';

describe('nodeTimers', () => {
  it('runs a callback after the delay, and not once cleared', async () => {
    const fired: string[] = [];
    const cancelled = nodeTimers.setTimeout(() => fired.push('cancelled'), 1);
    nodeTimers.clearTimeout(cancelled);
    await new Promise<void>((resolve) => nodeTimers.setTimeout(resolve, 5));
    expect(fired).toEqual([]);
  });
});
