import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32c } from './crc32c.js';
import {
  decodeGenerationState,
  encodeGenerationState,
  maxVoteBytes,
} from './generation-file-format.js';
import { maxAttachmentBytes } from './generation-state.js';

const states = fc.record(
  {
    generation: fc.oneof(fc.nat(1000), fc.constant(Number.MAX_SAFE_INTEGER), fc.maxSafeNat()),
    votedFor: fc.string({ unit: 'grapheme', maxLength: 20 }),
  },
  { requiredKeys: ['generation'] },
);

/** Rewrites the trailing checksum so a test can reach the checks behind it. */
function resealed(record: Uint8Array): Uint8Array {
  const copy = record.slice();
  new DataView(copy.buffer).setUint32(copy.length - 4, crc32c(copy, 0, copy.length - 4), true);
  return copy;
}

describe('the generation file format', () => {
  it('round-trips every state', () => {
    fc.assert(
      fc.property(states, (state) => {
        expect(decodeGenerationState(encodeGenerationState(state))).toEqual(state);
      }),
      { numRuns: 200 },
    );
  });

  it('detects every single flipped bit', () => {
    fc.assert(
      fc.property(states, fc.nat(), fc.nat(7), (state, at, bit) => {
        const record = encodeGenerationState(state);
        record[at % record.length]! ^= 1 << bit;
        expect(typeof decodeGenerationState(record)).toBe('string');
      }),
      { numRuns: 300 },
    );
  });

  it('detects every truncation and every appended byte (a torn or overlong file)', () => {
    const record = encodeGenerationState({ generation: 7, votedFor: 'athens' });
    for (let length = 0; length < record.length; length++) {
      expect(typeof decodeGenerationState(record.subarray(0, length))).toBe('string');
    }
    const longer = new Uint8Array(record.length + 1);
    longer.set(record);
    expect(decodeGenerationState(longer)).toMatch(/header announces/);
    expect(decodeGenerationState(new Uint8Array(record.length))).toMatch(/bad magic/);
  });

  it('names what is wrong with a well-sealed but invalid record', () => {
    const withVote = encodeGenerationState({ generation: 3, votedFor: 'athens' });
    const withoutVote = encodeGenerationState({ generation: 3 });
    const edit = (record: Uint8Array, change: (view: DataView) => void): Uint8Array => {
      const copy = record.slice();
      change(new DataView(copy.buffer));
      return resealed(copy);
    };
    expect(decodeGenerationState(edit(withVote, (v) => v.setUint8(4, 3)))).toMatch(/version 3/);
    expect(decodeGenerationState(edit(withVote, (v) => v.setUint8(5, 3)))).toMatch(/flags 3/);
    expect(decodeGenerationState(edit(withVote, (v) => v.setUint8(5, 0)))).toMatch(/flags 0/);
    expect(
      decodeGenerationState(edit(withoutVote, (v) => v.setBigUint64(8, 2n ** 53n, true))),
    ).toMatch(/too large/);
    const badUtf8 = edit(withVote, (v) => v.setUint8(16, 0xff));
    expect(decodeGenerationState(badUtf8)).toBe('vote is not valid UTF-8');
    expect(decodeGenerationState(withVote)).toEqual({ generation: 3, votedFor: 'athens' });
  });

  it('refuses a vote too long to store', () => {
    expect(() =>
      encodeGenerationState({ generation: 1, votedFor: 'x'.repeat(maxVoteBytes + 1) }),
    ).toThrow(RangeError);
    const longest = { generation: 1, votedFor: 'x'.repeat(maxVoteBytes) };
    expect(decodeGenerationState(encodeGenerationState(longest))).toEqual(longest);
  });

  it('round-trips an attachment (format version 2) and detects damage to it', () => {
    fc.assert(
      fc.property(states, fc.uint8Array({ maxLength: 300 }), fc.nat(), (state, bytes, at) => {
        const record = encodeGenerationState({ ...state, attachment: bytes });
        expect(record[4]).toBe(2);
        expect(decodeGenerationState(record)).toEqual({ ...state, attachment: bytes });
        const damaged = record.slice();
        damaged[at % damaged.length]! ^= 0x10;
        expect(typeof decodeGenerationState(damaged)).toBe('string');
        for (const length of [0, 16, record.length - 5, record.length - 1]) {
          expect(typeof decodeGenerationState(record.subarray(0, Math.max(0, length)))).toBe(
            'string',
          );
        }
      }),
      { numRuns: 200 },
    );
  });

  it('bounds an attachment before sizing anything by it', () => {
    expect(() =>
      encodeGenerationState({ generation: 1, attachment: new Uint8Array(maxAttachmentBytes + 1) }),
    ).toThrow(RangeError);
    const record = encodeGenerationState({ generation: 1, attachment: new Uint8Array(4) });
    const huge = record.slice();
    new DataView(huge.buffer).setUint32(16, 0xffffffff, true);
    expect(decodeGenerationState(resealed(huge))).toMatch(/exceeds/);
  });

  it('keeps writing format version 1 for a state without an attachment', () => {
    expect(encodeGenerationState({ generation: 9, votedFor: 'a' })[4]).toBe(1);
  });
});
