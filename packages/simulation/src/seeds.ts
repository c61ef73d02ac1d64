/**
 * The seed in the `SIM_SEED` environment variable (a number if it looks like one), or undefined.
 * Set it to replay a failing run exactly.
 */
export function seedFromEnvironment(): string | number | undefined {
  const raw = typeof process === 'undefined' ? undefined : process.env['SIM_SEED'];
  if (raw === undefined || raw.trim() === '') return undefined;
  const text = raw.trim();
  return /^-?\d+$/.test(text) && Number.isSafeInteger(Number(text)) ? Number(text) : text;
}

/**
 * The seeds a randomized test should run: `count` consecutive integers from `first`, or only the
 * `SIM_SEED` seed when that variable is set (replay).
 */
export function simulationSeeds(count: number, first = 1): (string | number)[] {
  const replay = seedFromEnvironment();
  if (replay !== undefined) return [replay];
  return Array.from({ length: count }, (_, index) => first + index);
}
