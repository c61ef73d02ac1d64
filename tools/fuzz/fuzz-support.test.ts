import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyFuzzPlan, applyMutation, byteMutation } from './byte-mutations.js';
import { fuzzRuns } from './fuzz-runs.js';

describe('fuzzRuns', () => {
  it('takes FUZZ_RUNS when set, the default otherwise, and refuses nonsense', () => {
    expect(fuzzRuns(200, {})).toBe(200);
    expect(fuzzRuns(200, { FUZZ_RUNS: '' })).toBe(200);
    expect(fuzzRuns(200, { FUZZ_RUNS: '80000' })).toBe(80_000);
    for (const text of ['0', '-5', '1.5', 'many']) {
      expect(() => fuzzRuns(200, { FUZZ_RUNS: text })).toThrow(RangeError);
    }
  });
});

describe('byte mutations', () => {
  const bytes = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);

  it('make the edits they name, on a copy', () => {
    expect(applyMutation(bytes, { kind: 'flip-bit', at: 9, bit: 7 })).toEqual(
      Uint8Array.of(1, 2 ^ 0x80, 3, 4, 5, 6, 7, 8),
    );
    expect(applyMutation(bytes, { kind: 'truncate', at: 3 })).toEqual(Uint8Array.of(1, 2, 3));
    expect(applyMutation(bytes, { kind: 'delete', at: 6, length: 5 })).toEqual(
      Uint8Array.of(1, 2, 3, 4, 5, 6),
    );
    expect(applyMutation(bytes, { kind: 'insert', at: 1, bytes: Uint8Array.of(0) })).toEqual(
      Uint8Array.of(1, 0, 2, 3, 4, 5, 6, 7, 8),
    );
    // A big-endian u32 set huge: 0xff at the top (at 0 picks the first pattern), all ones below.
    expect(
      applyMutation(bytes, { kind: 'huge-length', at: 0, width: 4, littleEndian: false }),
    ).toEqual(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 5, 6, 7, 8));
    expect(bytes).toEqual(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8));
  });

  it('apply to any input, empty included, without changing it', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 16 }), byteMutation, (input, mutation) => {
        const before = input.slice();
        const output = applyMutation(input, mutation);
        expect(output).toBeInstanceOf(Uint8Array);
        expect(input).toEqual(before);
        expect(applyFuzzPlan(input, { kind: 'mutate', mutations: [mutation] })).toEqual(output);
      }),
    );
  });
});
