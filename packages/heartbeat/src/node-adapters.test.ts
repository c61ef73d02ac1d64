import { describe, expect, it } from 'vitest';
import { nodeClock } from './node-clock.js';
import { createNodeTimers, nodeTimers } from './node-timers.js';

describe('nodeClock', () => {
  it('reads monotonic milliseconds that never go back', () => {
    const first = nodeClock.now();
    const second = nodeClock.now();
    expect(second).toBeGreaterThanOrEqual(first);
    expect(Math.abs(first - performance.now())).toBeLessThan(1000);
  });
});

describe('nodeTimers', () => {
  it('runs a callback after the delay and can cancel one', async () => {
    const fired: string[] = [];
    const cancelled = nodeTimers.setTimeout(() => fired.push('cancelled'), 1);
    nodeTimers.clearTimeout(cancelled);
    await new Promise<void>((resolve) => nodeTimers.setTimeout(resolve, 5));
    expect(fired).toEqual([]);
  });

  it('can create timers that do not keep the process alive', async () => {
    const timers = createNodeTimers({ unref: true });
    const handle = timers.setTimeout(() => {}, 60_000) as ReturnType<typeof setTimeout>;
    expect(handle.hasRef()).toBe(false);
    timers.clearTimeout(handle);
    await new Promise<void>((resolve) => timers.setTimeout(resolve, 1));
  });
});
