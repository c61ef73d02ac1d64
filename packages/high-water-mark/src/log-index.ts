// Log indexes start at 1; 0 means "nothing". They are plain numbers, so they must stay integers
// no larger than Number.MAX_SAFE_INTEGER to compare exactly.

/** Throws a RangeError unless `index` is a non-negative safe integer. */
export function assertLogIndex(index: number, what: string): void {
  if (!Number.isSafeInteger(index) || index < 0) {
    throw new RangeError(`${what} must be a non-negative safe integer, got ${String(index)}`);
  }
}
