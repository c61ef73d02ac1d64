// 32-bit hashes for cache keys. Exact comparison follows every hash match, so these need only spread
// values well; they are not cryptographic.

const fnvOffset = 0x811c9dc5;
const fnvPrime = 0x01000193;

/** FNV-1a of `text` continued from `seed`, so `hashText(b, hashText(a)) === hashText(a + b)`. */
export function hashText(text: string, seed: number = fnvOffset): number {
  let hash = seed;
  for (let index = 0; index < text.length; index++) {
    hash = Math.imul(hash ^ text.charCodeAt(index), fnvPrime);
  }
  return hash | 0;
}

/** A well-mixed 32-bit value from an integer (the murmur3 finaliser). */
export function mix32(value: number): number {
  let hash = value | 0;
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35);
  return (hash ^ (hash >>> 16)) | 0;
}

/** A hash of a history scalar that tells `1` from `'1'` and `null`. */
export function hashScalar(value: string | number | boolean | null): number {
  if (value === null) return 0x2545f491;
  if (typeof value === 'number') {
    return Number.isInteger(value) ? mix32(value ^ 0x5bd1e995) : hashText(String(value), 7);
  }
  if (typeof value === 'boolean') return value ? 0x1b873593 : 0x68e31da4;
  return hashText(value);
}
