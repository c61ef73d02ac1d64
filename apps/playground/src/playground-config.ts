import { formatFaultScript, parseFaultScript, type ScriptedAction } from './fault-script.js';

/** Everything a run depends on: the same configuration always gives the same run. */
export interface PlaygroundConfig {
  /** Seeds every random stream of the simulation (latencies, election jitter, disks). */
  readonly seed: number;
  /** Cluster size: 3 tolerates one failure, 5 tolerates two. */
  readonly members: 3 | 5;
  /** What happens and when (see `fault-script.ts`). */
  readonly script: readonly ScriptedAction[];
}

/** The run a page without parameters shows: three members, nothing scripted. */
export const defaultConfig: PlaygroundConfig = { seed: 1, members: 3, script: [] };

/** A configuration read from a URL, or the default and why the URL was not usable. */
export interface DecodedConfig {
  readonly config: PlaygroundConfig;
  /** Set when the URL named a configuration that could not be read. */
  readonly error?: string;
}

/** True when the query names a run (rather than leaving the choice to a scenario link). */
export function namesARun(search: string): boolean {
  const parameters = new URLSearchParams(search);
  return parameters.has('seed') || parameters.has('members') || parameters.has('script');
}

/**
 * Reads `?seed=..&members=..&script=..`. Missing parameters take their defaults; a bad one gives
 * the default configuration and an error to show, never a half-read run.
 */
export function decodeConfig(search: string): DecodedConfig {
  const parameters = new URLSearchParams(search);
  const seedText = parameters.get('seed') ?? String(defaultConfig.seed);
  const membersText = parameters.get('members') ?? String(defaultConfig.members);
  if (!/^\d{1,9}$/.test(seedText)) {
    return { config: defaultConfig, error: `seed must be a whole number, not ${seedText}` };
  }
  if (membersText !== '3' && membersText !== '5') {
    return { config: defaultConfig, error: `members must be 3 or 5, not ${membersText}` };
  }
  try {
    const script = parseFaultScript(parameters.get('script') ?? '');
    return { config: { seed: Number(seedText), members: Number(membersText) as 3 | 5, script } };
  } catch (error) {
    return { config: defaultConfig, error: error instanceof Error ? error.message : String(error) };
  }
}

/** The query string (with `?`) that {@link decodeConfig} reads back as `config`. */
export function encodeConfig(config: PlaygroundConfig): string {
  const parameters = new URLSearchParams({
    seed: String(config.seed),
    members: String(config.members),
  });
  // `;` rather than newlines keeps the link on one readable line.
  if (config.script.length > 0) {
    parameters.set('script', formatFaultScript(config.script).replaceAll('\n', '; '));
  }
  return `?${parameters.toString()}`;
}

/** How long after the last scripted action a run is worth watching, when no scenario says. */
export const SETTLE_MS = 4_000;

/**
 * Virtual time at which "run to the end" stops: `scenarioEndMs` when the run is a scenario,
 * otherwise {@link SETTLE_MS} after the last action of `script`.
 */
export function runEndMs(
  script: PlaygroundConfig['script'],
  scenarioEndMs: number | undefined,
): number {
  return scenarioEndMs ?? (script.at(-1)?.atMs ?? 0) + SETTLE_MS;
}
