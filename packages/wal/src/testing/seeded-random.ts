import type { Random } from './fault-file-system.js';

/**
 * A small, fast, seeded pseudo-random generator (mulberry32) satisfying the `Random` port:
 * the same seed gives the same sequence in [0, 1). Not for cryptography.
 */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return {
    next() {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    },
  };
}
