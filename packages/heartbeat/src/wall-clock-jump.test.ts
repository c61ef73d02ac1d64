// DESIGN.md §4 and the README's scenario: an NTP step or an operator moves the wall clock by an
// hour. Failure detection must neither suspect every peer nor stop suspecting a dead one.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Clock } from './clock.js';
import type { FailureDetector } from './failure-detector.js';
import { FixedTimeoutFailureDetector } from './fixed-timeout-failure-detector.js';
import { PhiAccrualFailureDetector } from './phi-accrual-failure-detector.js';
import { ManualClock } from './testing/manual-clock.js';

const hourMs = 60 * 60 * 1000;

/** A host whose wall clock and monotonic clock move independently, as a real machine's do. */
class Host extends ManualClock {
  wallClockMs = Date.UTC(2026, 0, 1);

  override advance(ms: number): void {
    this.wallClockMs += ms;
    super.advance(ms);
  }
}

const detectors: [string, (clock: Clock & ManualClock) => FailureDetector][] = [
  [
    'fixed timeout',
    (clock) => new FixedTimeoutFailureDetector({ clock, timers: clock, timeoutMs: 500 }),
  ],
  [
    'phi accrual',
    (clock) =>
      new PhiAccrualFailureDetector({ clock, timers: clock, firstHeartbeatEstimateMs: 100 }),
  ],
];

afterEach(() => {
  vi.useRealTimers();
});

describe.each(detectors)('a %s detector when the wall clock jumps by an hour', (_name, create) => {
  it.each([hourMs, -hourMs])('jump of %d ms: no peer suspected, none recovered', (jumpMs) => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.UTC(2026, 0, 1));
    const host = new Host();
    const detector = create(host);
    const events: string[] = [];
    detector.onSuspected((peer) => events.push(`suspected ${peer}`));
    detector.onRecovered((peer) => events.push(`recovered ${peer}`));
    detector.heartbeatReceived('alive');
    detector.heartbeatReceived('dead');
    for (let i = 0; i < 20; i += 1) {
      host.advance(100);
      detector.heartbeatReceived('alive');
    }
    expect(detector.suspectedPeers()).toEqual(['dead']);

    // Both the process's Date and the host's wall-clock field jump; monotonic time moves 1 ms.
    vi.setSystemTime(Date.now() + jumpMs);
    host.wallClockMs += jumpMs;
    host.advance(1);
    detector.heartbeatReceived('alive');

    expect(detector.suspectedPeers()).toEqual(['dead']);
    expect(detector.isSuspected('alive')).toBe(false);
    expect(events).toEqual(['suspected dead']);
  });
});
