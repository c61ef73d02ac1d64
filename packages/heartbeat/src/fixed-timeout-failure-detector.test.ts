import { describe, expect, it } from 'vitest';
import { FixedTimeoutFailureDetector } from './fixed-timeout-failure-detector.js';
import { ManualClock } from './testing/manual-clock.js';

describe('FixedTimeoutFailureDetector', () => {
  it('suspects a peer exactly timeoutMs after its last heartbeat', () => {
    const clock = new ManualClock();
    const detector = new FixedTimeoutFailureDetector({ clock, timers: clock, timeoutMs: 500 });
    const suspected: number[] = [];
    detector.onSuspected(() => suspected.push(clock.now()));
    detector.heartbeatReceived('byzantium');
    clock.advance(300);
    detector.heartbeatReceived('byzantium');
    clock.advance(499);
    expect(detector.isSuspected('byzantium')).toBe(false);
    expect(detector.silenceMs('byzantium')).toBe(499);
    clock.advance(1);
    expect(suspected).toEqual([800]);
    expect(detector.timeoutMs).toBe(500);
  });

  it('reports no silence for a peer it does not watch', () => {
    const detector = new FixedTimeoutFailureDetector({ clock: new ManualClock(), timeoutMs: 1 });
    expect(detector.silenceMs('athens')).toBeUndefined();
  });

  it('rejects a timeout that is not positive and finite', () => {
    for (const timeoutMs of [0, -5, Number.NaN, Infinity]) {
      expect(
        () => new FixedTimeoutFailureDetector({ clock: new ManualClock(), timeoutMs }),
      ).toThrow(RangeError);
    }
  });
});
