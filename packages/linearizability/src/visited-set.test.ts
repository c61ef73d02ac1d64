import { describe, expect, it } from 'vitest';
import { VisitedSet } from './visited-set.js';

describe('VisitedSet', () => {
  it('compares bitsets and states exactly, even when every hash collides', () => {
    const visited = new VisitedSet(2, (a, b) => a === b);
    const bits = new Uint32Array(2);
    for (let index = 0; index < 200; index++) {
      bits[index % 2] = index; // distinct sets, one shared hash: a long chain and two arena growths
      expect(visited.add(7, bits, 'state')).toBe(true);
      expect(visited.add(7, bits, 'state')).toBe(false);
      expect(visited.add(7, bits, 'other state')).toBe(true);
    }
    expect(visited.size).toBe(400);
    bits.set([198, 199]);
    expect(visited.add(7, bits, 'state')).toBe(false);
    bits.set([198, 0]);
    expect(visited.add(7, bits, 'state')).toBe(true);
  });

  it('copies the bitset it is given', () => {
    const visited = new VisitedSet(1, (a, b) => a === b);
    const bits = new Uint32Array([1]);
    visited.add(0, bits, null);
    bits[0] = 2;
    expect(visited.add(0, new Uint32Array([1]), null)).toBe(false);
  });
});
