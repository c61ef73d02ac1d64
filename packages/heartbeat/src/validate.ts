/** Throws a RangeError unless `value` is a finite number greater than zero. */
export function requirePositive(name: string, value: number): void {
  if (!(Number.isFinite(value) && value > 0)) {
    throw new RangeError(`${name} must be a finite number greater than 0, got ${String(value)}`);
  }
}

/** Throws a RangeError unless `value` is a finite number greater than or equal to zero. */
export function requireNonNegative(name: string, value: number): void {
  if (!(Number.isFinite(value) && value >= 0)) {
    throw new RangeError(`${name} must be a finite number >= 0, got ${String(value)}`);
  }
}

/** Throws a RangeError unless `value` is an integer greater than or equal to `minimum`. */
export function requireIntegerAtLeast(name: string, value: number, minimum: number): void {
  if (!(Number.isInteger(value) && value >= minimum)) {
    throw new RangeError(`${name} must be an integer >= ${minimum}, got ${String(value)}`);
  }
}
