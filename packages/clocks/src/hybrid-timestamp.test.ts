import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ClockDecodeError } from './errors.js';
import {
  ENCODED_HYBRID_TIMESTAMP_LENGTH,
  MAX_HYBRID_LOGICAL,
  MAX_HYBRID_WALL_MS,
  compareHybrid,
  decodeHybridTimestamp,
  encodeHybridTimestamp,
  hybridTimestamp,
} from './hybrid-timestamp.js';

const timestamp = fc
  .record({
    wallMs: fc.oneof(fc.nat({ max: 2000 }), fc.nat({ max: MAX_HYBRID_WALL_MS })),
    logical: fc.oneof(fc.nat({ max: 3 }), fc.nat({ max: MAX_HYBRID_LOGICAL })),
  })
  .map(({ wallMs, logical }) => hybridTimestamp(wallMs, logical));

describe('hybrid timestamps', () => {
  it('order by wall time, then logical counter', () => {
    expect(compareHybrid(hybridTimestamp(1, 9), hybridTimestamp(2, 0))).toBeLessThan(0);
    expect(compareHybrid(hybridTimestamp(2, 1), hybridTimestamp(2, 0))).toBeGreaterThan(0);
    expect(compareHybrid(hybridTimestamp(2, 1), hybridTimestamp(2, 1))).toBe(0);
  });

  it('are validated and frozen', () => {
    expect(Object.isFrozen(hybridTimestamp(1, 2))).toBe(true);
    expect(() => hybridTimestamp(-1, 0)).toThrow(RangeError);
    expect(() => hybridTimestamp(MAX_HYBRID_WALL_MS + 1, 0)).toThrow(RangeError);
    expect(() => hybridTimestamp(0, MAX_HYBRID_LOGICAL + 1)).toThrow(RangeError);
    expect(() => hybridTimestamp(0.5, 0)).toThrow(RangeError);
    expect(() => encodeHybridTimestamp({ wallMs: 0, logical: Number.NaN })).toThrow(RangeError);
  });

  it('encode to 20 fixed-width hexadecimal digits', () => {
    expect(encodeHybridTimestamp(hybridTimestamp(0, 0))).toBe('00000000000000000000');
    expect(encodeHybridTimestamp(hybridTimestamp(1_733_550_000_000, 3))).toBe(
      '01939fa1c78000000003',
    );
    expect(encodeHybridTimestamp(hybridTimestamp(MAX_HYBRID_WALL_MS, MAX_HYBRID_LOGICAL))).toBe(
      'ffffffffffffffffffff',
    );
  });

  it('refuse malformed encodings with a ClockDecodeError', () => {
    for (const bad of [
      '',
      '0000000000000000000',
      '000000000000000000000',
      '0000000000000000000G',
      'FFFFFFFFFFFFFFFFFFFF',
      ' 0000000000000000000',
      '0000000000000000000\n',
      '-0000000000000000001',
      42,
      null,
      { wallMs: 1, logical: 0 },
    ]) {
      expect(() => decodeHybridTimestamp(bad)).toThrow(ClockDecodeError);
    }
  });

  it('round-trip through the encoding, whose string order is the timestamp order', () => {
    fc.assert(
      fc.property(timestamp, timestamp, (a, b) => {
        const encodedA = encodeHybridTimestamp(a);
        expect(encodedA).toHaveLength(ENCODED_HYBRID_TIMESTAMP_LENGTH);
        expect(decodeHybridTimestamp(encodedA)).toEqual(a);
        const encodedB = encodeHybridTimestamp(b);
        const stringOrder = encodedA < encodedB ? -1 : encodedA > encodedB ? 1 : 0;
        expect(stringOrder).toBe(Math.sign(compareHybrid(a, b)));
      }),
    );
  });

  it('decode any input to a timestamp that re-encodes to it, or refuse it', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 24 }),
          fc.string({ unit: fc.constantFrom(...'0123456789abcdefABx'), maxLength: 22 }),
          timestamp.map(encodeHybridTimestamp),
        ),
        (input) => {
          let decoded;
          try {
            decoded = decodeHybridTimestamp(input);
          } catch (error) {
            expect(error).toBeInstanceOf(ClockDecodeError);
            return;
          }
          expect(encodeHybridTimestamp(decoded)).toBe(input);
        },
      ),
    );
  });
});
