import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RandomStreams } from './random-streams.js';
import { SeededRandom } from './seeded-random.js';

function draw(random: SeededRandom, count: number): number[] {
  return Array.from({ length: count }, () => random.next());
}

describe('SeededRandom', () => {
  it('repeats its sequence for the same key and differs for another key', () => {
    expect(draw(new SeededRandom('7/network'), 20)).toEqual(
      draw(new SeededRandom('7/network'), 20),
    );
    expect(draw(new SeededRandom('7/network'), 20)).not.toEqual(
      draw(new SeededRandom('8/network'), 20),
    );
  });

  it('draws in [0, 1) and integers within their inclusive bounds', () => {
    fc.assert(
      fc.property(fc.string(), fc.integer({ min: -50, max: 50 }), fc.nat(100), (key, min, span) => {
        const random = new SeededRandom(key);
        for (let i = 0; i < 20; i++) {
          const value = random.next();
          expect(value).toBeGreaterThanOrEqual(0);
          expect(value).toBeLessThan(1);
          const integer = random.integer(min, min + span);
          expect(Number.isInteger(integer)).toBe(true);
          expect(integer).toBeGreaterThanOrEqual(min);
          expect(integer).toBeLessThanOrEqual(min + span);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('is roughly uniform', () => {
    const random = new SeededRandom('uniform');
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 100_000; i++) buckets[Math.floor(random.next() * 10)]!++;
    for (const count of buckets) expect(Math.abs(count - 10_000)).toBeLessThan(500);
  });

  it('shuffles to a permutation and rejects bad arguments', () => {
    const random = new SeededRandom('shuffle');
    expect(random.shuffle([1, 2, 3, 4, 5]).sort()).toEqual([1, 2, 3, 4, 5]);
    expect(() => random.pick([])).toThrow(RangeError);
    expect(() => random.integer(3, 2)).toThrow(RangeError);
  });
});

describe('RandomStreams', () => {
  it('keeps streams independent: drawing more from one does not change another', () => {
    const quiet = new RandomStreams(42);
    const busy = new RandomStreams(42);
    draw(busy.stream('network'), 1_000);
    expect(draw(busy.stream('faults'), 10)).toEqual(draw(quiet.stream('faults'), 10));
  });

  it('returns the same stream object for a name', () => {
    const streams = new RandomStreams('seed');
    expect(streams.stream('disk/athens')).toBe(streams.stream('disk/athens'));
  });
});
