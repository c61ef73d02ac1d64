// The behaviour every FailureDetector shares, run against both implementations.
import { describe, expect, it } from 'vitest';
import type { FailureDetector } from './failure-detector.js';
import { FixedTimeoutFailureDetector } from './fixed-timeout-failure-detector.js';
import type { Logger } from './logger.js';
import { PhiAccrualFailureDetector } from './phi-accrual-failure-detector.js';
import type { Timers } from './timers.js';
import { ManualClock } from './testing/manual-clock.js';

interface Options {
  clock: ManualClock;
  timers?: Timers;
  logger?: Logger;
}

// Both are tuned for 100 ms heartbeats; each suspects a silent peer within a second.
const implementations: [string, (options: Options) => FailureDetector][] = [
  [
    'FixedTimeoutFailureDetector',
    (options) => new FixedTimeoutFailureDetector({ ...options, timeoutMs: 500 }),
  ],
  [
    'PhiAccrualFailureDetector',
    (options) => new PhiAccrualFailureDetector({ ...options, firstHeartbeatEstimateMs: 100 }),
  ],
];

function recorder(detector: FailureDetector, clock: ManualClock): string[] {
  const events: string[] = [];
  detector.onSuspected((peer) => events.push(`suspected ${peer}@${clock.now()}`));
  detector.onRecovered((peer) => events.push(`recovered ${peer}@${clock.now()}`));
  return events;
}

/** Heartbeats from `peer` every `intervalMs` (± jitter from a fixed pattern) for `durationMs`. */
function beat(
  clock: ManualClock,
  detector: FailureDetector,
  peer: string,
  intervalMs: number,
  durationMs: number,
  jitter: readonly number[] = [0],
): void {
  for (let elapsed = 0, i = 0; elapsed < durationMs; i += 1) {
    const step = intervalMs + (jitter[i % jitter.length] ?? 0);
    clock.advance(step);
    elapsed += step;
    detector.heartbeatReceived(peer);
  }
}

describe.each(implementations)('%s', (_name, create) => {
  it('never suspects a peer with steady heartbeats, even with some jitter', () => {
    const clock = new ManualClock();
    const detector = create({ clock, timers: clock });
    const events = recorder(detector, clock);
    detector.heartbeatReceived('byzantium');
    beat(clock, detector, 'byzantium', 100, 60_000, [0, 15, -10, 25, -20, 5]);
    expect(events).toEqual([]);
    expect(detector.isSuspected('byzantium')).toBe(false);
    expect(detector.suspectedPeers()).toEqual([]);
    expect(detector.watchedPeers()).toEqual(['byzantium']);
  });

  it('suspects a silent peer on time through its timer, and a heartbeat makes it recover', () => {
    const clock = new ManualClock();
    const detector = create({ clock, timers: clock });
    const events = recorder(detector, clock);
    detector.heartbeatReceived('byzantium');
    detector.heartbeatReceived('cyrene');
    beat(clock, detector, 'byzantium', 100, 1000);
    // cyrene has been silent a whole second: its timer raised the event without any query.
    expect(events).toHaveLength(1);
    expect(events[0]).toMatch(/^suspected cyrene@[\d.]+$/);
    expect(detector.suspectedPeers()).toEqual(['cyrene']);
    clock.advance(5000);
    expect(detector.suspectedPeers()).toEqual(['byzantium', 'cyrene']);
    detector.heartbeatReceived('cyrene');
    expect(detector.isSuspected('cyrene')).toBe(false);
    expect(events[1]).toMatch(/^suspected byzantium@[\d.]+$/);
    expect(events[2]).toBe('recovered cyrene@6000');
  });

  it('is not suspected one millisecond before the deadline and is at it', () => {
    const clock = new ManualClock();
    const detector = create({ clock, timers: clock });
    const events = recorder(detector, clock);
    beat(clock, detector, 'byzantium', 100, 2000);
    const quietSince = clock.now();
    clock.advance(5000);
    const suspectedAt = Number(events[0]?.split('@')[1]);
    expect(suspectedAt).toBeGreaterThan(quietSince);

    const replay = new ManualClock();
    const again = create({ clock: replay });
    beat(replay, again, 'byzantium', 100, 2000);
    replay.advance(suspectedAt - quietSince - 1);
    expect(again.isSuspected('byzantium')).toBe(false);
    replay.advance(1);
    expect(again.isSuspected('byzantium')).toBe(true);
  });

  it('handles a pause then a burst: suspected during the pause, recovered, and then steady again', () => {
    const clock = new ManualClock();
    const detector = create({ clock, timers: clock });
    const events = recorder(detector, clock);
    beat(clock, detector, 'byzantium', 100, 3000);
    clock.advance(3000); // a long GC pause on byzantium
    expect(detector.isSuspected('byzantium')).toBe(true);
    beat(clock, detector, 'byzantium', 1, 20); // the queued heartbeats arrive at once
    expect(detector.isSuspected('byzantium')).toBe(false);
    beat(clock, detector, 'byzantium', 100, 10_000, [0, 10, -10]);
    expect(detector.isSuspected('byzantium')).toBe(false);
    expect(events.map((event) => event.split('@')[0])).toEqual([
      'suspected byzantium',
      'recovered byzantium',
    ]);
  });

  it('without timers, notices a suspicion when asked', () => {
    const clock = new ManualClock();
    const detector = create({ clock });
    const events = recorder(detector, clock);
    detector.heartbeatReceived('byzantium');
    clock.advance(10_000);
    expect(events).toEqual([]);
    expect(detector.isSuspected('byzantium')).toBe(true);
    expect(events).toEqual(['suspected byzantium@10000']);
    expect(detector.isSuspected('byzantium')).toBe(true);
    expect(events).toHaveLength(1);
  });

  it('without timers, a heartbeat after an unnoticed deadline reports suspected then recovered', () => {
    const clock = new ManualClock();
    const detector = create({ clock });
    const events = recorder(detector, clock);
    detector.heartbeatReceived('byzantium');
    clock.advance(10_000);
    detector.heartbeatReceived('byzantium');
    expect(events).toEqual(['suspected byzantium@10000', 'recovered byzantium@10000']);
    expect(detector.isSuspected('byzantium')).toBe(false);
  });

  it('never suspects a peer it does not watch; watch starts the grace period', () => {
    const clock = new ManualClock();
    const detector = create({ clock, timers: clock });
    const events = recorder(detector, clock);
    expect(detector.isSuspected('athens')).toBe(false);
    clock.advance(1000);
    detector.watch('athens');
    clock.advance(200);
    detector.watch('athens'); // no effect: already watched
    clock.advance(10_000);
    expect(events[0]).toMatch(/^suspected athens@/);
    expect(Number(events[0]?.split('@')[1])).toBeGreaterThan(1200);
    expect(detector.watchedPeers()).toEqual(['athens']);
  });

  it('forgets a peer: no suspicion, no events, no timers', () => {
    const clock = new ManualClock();
    const detector = create({ clock, timers: clock });
    const events = recorder(detector, clock);
    detector.heartbeatReceived('byzantium');
    detector.forget('byzantium');
    detector.forget('never-seen');
    clock.advance(10_000);
    expect(events).toEqual([]);
    expect(detector.isSuspected('byzantium')).toBe(false);
    expect(detector.watchedPeers()).toEqual([]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('unsubscribes listeners, counts a listener registered twice twice, and survives a throwing one', () => {
    const clock = new ManualClock();
    const errors: unknown[] = [];
    const logger: Logger = {
      debug: () => {},
      info: () => {},
      warn: () => {},
      error: (fields) => errors.push(fields),
    };
    const detector = create({ clock, timers: clock, logger });
    const seen: string[] = [];
    const listener = (peer: string): void => {
      seen.push(peer);
    };
    detector.onSuspected(() => {
      throw new Error('listener bug');
    });
    detector.onSuspected(listener);
    const unsubscribe = detector.onSuspected(listener);
    const unsubscribeRecovered = detector.onRecovered(listener);
    unsubscribeRecovered();
    detector.heartbeatReceived('byzantium');
    clock.advance(10_000);
    expect(seen).toEqual(['byzantium', 'byzantium']);
    expect(errors).toHaveLength(1);
    unsubscribe();
    detector.heartbeatReceived('byzantium');
    clock.advance(10_000);
    expect(seen).toEqual(['byzantium', 'byzantium', 'byzantium']);
  });

  it('lets a listener forget the peer', () => {
    const clock = new ManualClock();
    const detector = create({ clock, timers: clock });
    detector.onSuspected((peer) => detector.forget(peer));
    detector.heartbeatReceived('byzantium');
    clock.advance(10_000);
    expect(detector.watchedPeers()).toEqual([]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('lets a listener close the detector', () => {
    const clock = new ManualClock();
    const detector = create({ clock, timers: clock });
    const recovered: string[] = [];
    detector.onRecovered((peer) => {
      recovered.push(peer);
      detector.close();
    });
    detector.onRecovered((peer) => recovered.push(`second listener saw ${peer}`));
    detector.heartbeatReceived('byzantium');
    detector.heartbeatReceived('cyrene');
    clock.advance(10_000);
    detector.heartbeatReceived('cyrene');
    // The listeners registered when the event fired all run; then the detector is closed.
    expect(recovered).toEqual(['cyrene', 'second listener saw cyrene']);
    expect(detector.watchedPeers()).toEqual([]);
    expect(clock.pendingTimers).toBe(0);
    detector.heartbeatReceived('cyrene');
    expect(detector.watchedPeers()).toEqual([]);
  });

  it('close cancels every timer and ignores later heartbeats', () => {
    const clock = new ManualClock();
    const detector = create({ clock, timers: clock });
    const events = recorder(detector, clock);
    detector.heartbeatReceived('byzantium');
    detector.heartbeatReceived('cyrene');
    detector.close();
    expect(clock.pendingTimers).toBe(0);
    detector.heartbeatReceived('byzantium');
    detector.watch('athens');
    clock.advance(10_000);
    expect(events).toEqual([]);
    expect(detector.watchedPeers()).toEqual([]);
    expect(detector.suspectedPeers()).toEqual([]);
  });

  it('keeps at most one timer per peer however many heartbeats arrive', () => {
    const clock = new ManualClock();
    const detector = create({ clock, timers: clock });
    detector.heartbeatReceived('byzantium');
    detector.heartbeatReceived('cyrene');
    for (let i = 0; i < 100; i += 1) {
      clock.advance(10);
      detector.heartbeatReceived('byzantium');
      detector.heartbeatReceived('cyrene');
      expect(clock.pendingTimers).toBeLessThanOrEqual(2);
    }
  });
});
