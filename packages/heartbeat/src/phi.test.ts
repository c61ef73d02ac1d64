import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { phi, phiThresholdInStandardDeviations } from './phi.js';

describe('phi', () => {
  it('is log10(2) at the mean: an even chance the heartbeat is still coming', () => {
    expect(phi(1000, 1000, 100)).toBeCloseTo(Math.log10(2), 3);
  });

  it('matches the normal tail within the approximation error', () => {
    // P(Z > 2) = 0.02275, P(Z > 3) = 0.0013499, P(Z > -1) = 0.841345. The logistic approximation
    // is within 1.4e-4 in probability, which is up to ~0.05 in phi three deviations out.
    expect(phi(1200, 1000, 100)).toBeCloseTo(-Math.log10(0.02275), 2);
    expect(Math.abs(phi(1300, 1000, 100) - -Math.log10(0.0013499))).toBeLessThan(0.05);
    expect(phi(900, 1000, 100)).toBeCloseTo(-Math.log10(0.841345), 3);
  });

  it('never decreases as silence grows, and reaches infinity for absurd silences', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 1, max: 10_000, noNaN: true }),
        fc.double({ min: 1, max: 1000, noNaN: true }),
        fc.double({ min: 0, max: 20_000, noNaN: true }),
        fc.double({ min: 0, max: 20_000, noNaN: true }),
        (mean, deviation, a, b) => {
          const [shorter, longer] = a <= b ? [a, b] : [b, a];
          const low = phi(shorter, mean, deviation);
          const high = phi(longer, mean, deviation);
          expect(low).toBeGreaterThanOrEqual(0);
          expect(high).toBeGreaterThanOrEqual(low - 1e-12);
        },
      ),
      { numRuns: 200 },
    );
    expect(phi(1e9, 100, 1)).toBe(Infinity);
    expect(phi(-1e9, 100, 1)).toBe(0);
  });
});

describe('phiThresholdInStandardDeviations', () => {
  it('inverts phi for thresholds on both sides of the mean', () => {
    fc.assert(
      fc.property(fc.double({ min: 0.01, max: 300, noNaN: true }), (threshold) => {
        const y = phiThresholdInStandardDeviations(threshold);
        expect(phi(1000 + y * 100, 1000, 100)).toBeCloseTo(threshold, 6);
      }),
      { numRuns: 200 },
    );
    expect(phiThresholdInStandardDeviations(Math.log10(2))).toBeCloseTo(0, 9);
    expect(phiThresholdInStandardDeviations(0.1)).toBeLessThan(0);
    expect(phiThresholdInStandardDeviations(8)).toBeGreaterThan(4);
  });

  it('rejects thresholds that are not positive and finite', () => {
    for (const threshold of [0, -1, Number.NaN, Infinity]) {
      expect(() => phiThresholdInStandardDeviations(threshold)).toThrow(RangeError);
    }
  });
});
