import { describe, expect, it } from 'vitest';
import { ManualClock } from './manual-clock.js';

describe('ManualClock', () => {
  it('starts at the given time and moves only when advanced', () => {
    const clock = new ManualClock(500);
    expect(clock.now()).toBe(500);
    clock.advance(250);
    expect(clock.now()).toBe(750);
    expect(new ManualClock().now()).toBe(0);
  });

  it('runs due callbacks in due-time order, each at its own due time, ties in scheduling order', () => {
    const clock = new ManualClock();
    const calls: string[] = [];
    clock.setTimeout(() => calls.push(`b@${clock.now()}`), 20);
    clock.setTimeout(() => calls.push(`a@${clock.now()}`), 10);
    clock.setTimeout(() => calls.push(`c@${clock.now()}`), 20);
    clock.setTimeout(() => calls.push(`late@${clock.now()}`), 31);
    clock.advance(30);
    expect(calls).toEqual(['a@10', 'b@20', 'c@20']);
    expect(clock.now()).toBe(30);
    expect(clock.pendingTimers).toBe(1);
  });

  it('runs callbacks scheduled by callbacks when they fall due within the same advance', () => {
    const clock = new ManualClock();
    const calls: number[] = [];
    const tick = (): void => {
      calls.push(clock.now());
      clock.setTimeout(tick, 10);
    };
    clock.setTimeout(tick, 10);
    clock.advance(35);
    expect(calls).toEqual([10, 20, 30]);
  });

  it('treats a negative delay as zero and ignores unknown or cancelled handles', () => {
    const clock = new ManualClock();
    let fired = 0;
    clock.setTimeout(() => (fired += 1), -5);
    const cancelled = clock.setTimeout(() => (fired += 100), 1);
    clock.clearTimeout(cancelled);
    clock.clearTimeout('not a handle');
    clock.clearTimeout(12345);
    clock.advance(0);
    expect(fired).toBe(1);
    clock.advance(5);
    expect(fired).toBe(1);
    expect(clock.pendingTimers).toBe(0);
  });

  it('never goes back when a callback advances the clock itself', () => {
    const clock = new ManualClock();
    clock.setTimeout(() => clock.advance(100), 10);
    clock.advance(20);
    expect(clock.now()).toBe(110);
  });

  it('refuses to go backwards', () => {
    const clock = new ManualClock();
    expect(() => clock.advance(-1)).toThrow(RangeError);
    expect(() => clock.advance(Number.NaN)).toThrow(RangeError);
    expect(() => clock.advance(Infinity)).toThrow(RangeError);
  });
});

describe('ManualClock with many timers', () => {
  it('fires thousands of timers in due-time order, skipping cancelled ones', () => {
    const clock = new ManualClock();
    const fired: number[] = [];
    const handles: unknown[] = [];
    // A scrambled but deterministic set of due times, many of them equal.
    for (let i = 0; i < 5000; i++) {
      const dueAt = (i * 7919) % 1000;
      handles.push(clock.setTimeout(() => fired.push(dueAt * 10_000 + i), dueAt));
    }
    for (let i = 0; i < 5000; i += 3) clock.clearTimeout(handles[i]);
    clock.advance(1000);
    const expected = Array.from({ length: 5000 }, (_, i) => i)
      .filter((i) => i % 3 !== 0)
      .map((i) => ((i * 7919) % 1000) * 10_000 + i)
      .sort((a, b) => a - b);
    expect(fired).toEqual(expected);
    expect(clock.pendingTimers).toBe(0);
  });
});
