/** Name of the environment variable that sets how many cases each fuzz property runs. */
export const FUZZ_RUNS_VARIABLE = 'FUZZ_RUNS';

/**
 * How many cases a fuzz property (a `*.fuzz.test.ts` of this repository) runs: `FUZZ_RUNS` when
 * set to a positive integer, otherwise `defaultRuns`, the small count CI runs on every change.
 * One variable scales the fuzzing of every decoder at once (docs/guides/fuzzing.md).
 *
 * @param defaultRuns cases per property when the variable is unset (keep CI cheap).
 * @param env where to read the variable (the process environment by default).
 * @throws RangeError when the variable is set but is not a positive integer.
 */
export function fuzzRuns(
  defaultRuns: number,
  env: Readonly<Record<string, string | undefined>> = process.env,
): number {
  const text = env[FUZZ_RUNS_VARIABLE];
  if (text === undefined || text === '') return defaultRuns;
  const runs = Number(text);
  if (!Number.isSafeInteger(runs) || runs < 1) {
    throw new RangeError(`${FUZZ_RUNS_VARIABLE} must be a positive integer, got '${text}'`);
  }
  return runs;
}

/**
 * Test timeout for a fuzz property of `runs` cases that each take up to `msPerRun` under load:
 * generous (a run under load took up to 8 ms a case), so a long `FUZZ_RUNS` run is not cut
 * short by a timeout.
 */
export function fuzzTimeoutMs(runs: number, msPerRun = 10): number {
  return Math.max(60_000, runs * msPerRun);
}
