import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { phi } from './phi.js';
import { PhiAccrualFailureDetector } from './phi-accrual-failure-detector.js';
import type { PhiAccrualFailureDetectorOptions } from './phi-accrual-failure-detector.js';
import { ManualClock } from './testing/manual-clock.js';

function detectorOn(clock: ManualClock, options: Partial<PhiAccrualFailureDetectorOptions> = {}) {
  return new PhiAccrualFailureDetector({
    clock,
    timers: clock,
    firstHeartbeatEstimateMs: 100,
    ...options,
  });
}

/** Heartbeats from `peer` at the given intervals. */
function arrive(
  clock: ManualClock,
  detector: PhiAccrualFailureDetector,
  peer: string,
  intervals: number[],
): void {
  for (const interval of intervals) {
    clock.advance(interval);
    detector.heartbeatReceived(peer);
  }
}

const repeat = (pattern: number[], times: number): number[] =>
  Array.from({ length: times }, () => pattern).flat();

describe('PhiAccrualFailureDetector', () => {
  it('phi rises with silence', () => {
    const clock = new ManualClock();
    const detector = detectorOn(clock);
    arrive(clock, detector, 'byzantium', repeat([100], 50));
    let previous = detector.phi('byzantium');
    expect(previous).toBeLessThan(0.1); // one minimum deviation before the mean
    for (let i = 0; i < 20; i += 1) {
      clock.advance(50);
      const current = detector.phi('byzantium');
      expect(current).toBeGreaterThan(previous);
      previous = current;
    }
    expect(detector.isSuspected('byzantium')).toBe(true);
    expect(previous).toBeGreaterThanOrEqual(detector.threshold);
  });

  it('with jittery arrivals phi starts rising sooner but rises more slowly, giving the peer more time (Hayashibara et al.)', () => {
    const options = { minStandardDeviationMs: 5 };
    // Same mean interval (100 ms); the jittery peer's deviation is 60 ms, the steady one's 0.
    const phiAfter = (silence: number): [number, number] => {
      const steadyClock = new ManualClock();
      const steadyProbe = detectorOn(steadyClock, options);
      arrive(steadyClock, steadyProbe, 'steady', repeat([100], 200));
      steadyClock.advance(silence);
      const jitterClock = new ManualClock();
      const jitterProbe = detectorOn(jitterClock, options);
      arrive(jitterClock, jitterProbe, 'jittery', repeat([40, 160], 100));
      jitterClock.advance(silence);
      return [steadyProbe.phi('steady'), jitterProbe.phi('jittery')];
    };
    // Before the mean, uncertainty makes the jittery peer's phi the higher one...
    const [steadyEarly, jitteryEarly] = phiAfter(70);
    expect(jitteryEarly).toBeGreaterThan(steadyEarly);
    // ...past it, the steady peer's phi shoots up while the jittery peer's climbs gently.
    const [steadyLate, jitteryLate] = phiAfter(130);
    expect(steadyLate).toBeGreaterThan(8);
    expect(jitteryLate).toBeLessThan(2);
    const [, jitteryLater] = phiAfter(300);
    expect(jitteryLater).toBeGreaterThan(jitteryLate);
  });

  it('suspects a regular peer sooner than a jittery one after the same silence', () => {
    const suspicionDelay = (intervals: number[]): number => {
      const clock = new ManualClock();
      const detector = detectorOn(clock, { minStandardDeviationMs: 5 });
      let at = Infinity;
      detector.onSuspected(() => (at = clock.now()));
      detector.heartbeatReceived('byzantium');
      arrive(clock, detector, 'byzantium', intervals);
      const from = clock.now();
      clock.advance(5000);
      return at - from;
    };
    const steady = suspicionDelay(repeat([100], 100));
    const jittery = suspicionDelay(repeat([40, 160], 50));
    expect(steady).toBeLessThan(jittery);
    expect(jittery).toBeLessThan(5000);
  });

  it('agrees with phi: suspected exactly when phi reaches the threshold', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 0, max: 3000 }),
        fc.double({ min: 0.5, max: 16, noNaN: true }),
        (intervals, silence, threshold) => {
          const clock = new ManualClock();
          const detector = new PhiAccrualFailureDetector({
            clock,
            threshold,
            minStandardDeviationMs: 20,
          });
          detector.heartbeatReceived('byzantium');
          arrive(clock, detector, 'byzantium', intervals);
          clock.advance(silence);
          const level = detector.phi('byzantium');
          // Away from the boundary (rounding), the two views must agree.
          if (Math.abs(level - threshold) > 1e-6) {
            expect(detector.isSuspected('byzantium')).toBe(level >= threshold);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('does not learn from the pause that ended a suspicion', () => {
    const clock = new ManualClock();
    const detector = detectorOn(clock);
    arrive(clock, detector, 'byzantium', repeat([100], 50));
    clock.advance(10_000);
    expect(detector.isSuspected('byzantium')).toBe(true);
    detector.heartbeatReceived('byzantium');
    // Had the 10 s interval been recorded, 700 ms of silence would now look normal.
    clock.advance(700);
    expect(detector.isSuspected('byzantium')).toBe(true);
  });

  it('delays suspicion by exactly the acceptable heartbeat pause', () => {
    const suspicionDelay = (acceptableHeartbeatPauseMs: number): number => {
      const clock = new ManualClock();
      const detector = detectorOn(clock, { acceptableHeartbeatPauseMs });
      let at = NaN;
      detector.onSuspected(() => (at = clock.now()));
      arrive(clock, detector, 'byzantium', repeat([100], 20));
      const from = clock.now();
      clock.advance(60_000);
      return at - from;
    };
    expect(suspicionDelay(3000) - suspicionDelay(0)).toBeCloseTo(3000, 6);
  });

  it('starts from the first-heartbeat estimate (mean ± 25%) before measuring anything', () => {
    const clock = new ManualClock();
    const detector = new PhiAccrualFailureDetector({ clock, firstHeartbeatEstimateMs: 1000 });
    detector.heartbeatReceived('byzantium');
    clock.advance(1000);
    expect(detector.phi('byzantium')).toBeCloseTo(phi(1000, 1000, 250), 12);
    expect(detector.phi('never-seen')).toBe(0);
  });

  it('forgets intervals older than the window, moving the deadline earlier and re-arming its timer', () => {
    const clock = new ManualClock();
    const detector = detectorOn(clock, {
      windowSize: 2,
      minStandardDeviationMs: 1,
      firstHeartbeatEstimateMs: 1000,
    });
    const suspected: number[] = [];
    detector.onSuspected(() => suspected.push(clock.now()));
    detector.heartbeatReceived('byzantium');
    arrive(clock, detector, 'byzantium', [1000, 1000]);
    // The timer is armed for a deadline based on 1000 ms intervals; two short ones replace them.
    arrive(clock, detector, 'byzantium', [10, 10]);
    const from = clock.now();
    clock.advance(100);
    expect(suspected).toHaveLength(1);
    expect((suspected[0] ?? NaN) - from).toBeLessThan(100);
  });

  it('defaults to Akka settings', () => {
    const detector = new PhiAccrualFailureDetector({ clock: new ManualClock() });
    expect(detector.threshold).toBe(8);
  });

  it('rejects options out of range', () => {
    const clock = new ManualClock();
    const invalid: Partial<PhiAccrualFailureDetectorOptions>[] = [
      { threshold: 0 },
      { threshold: Number.NaN },
      { windowSize: 1 },
      { windowSize: 2.5 },
      { minStandardDeviationMs: 0 },
      { acceptableHeartbeatPauseMs: -1 },
      { firstHeartbeatEstimateMs: 0 },
      { firstHeartbeatEstimateMs: Infinity },
    ];
    for (const options of invalid) {
      expect(() => new PhiAccrualFailureDetector({ clock, ...options })).toThrow(RangeError);
    }
  });
});
