/**
 * Orders two generations: negative if `a` is older than `b`, zero if equal, positive if newer.
 * Usable as an `Array.prototype.sort` comparator.
 */
export function compareGenerations(a: number, b: number): -1 | 0 | 1 {
  return a < b ? -1 : a > b ? 1 : 0;
}
