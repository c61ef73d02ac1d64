/**
 * Where settings come from, lowest precedence first: defaults, a config file, `ETCD_*` and
 * `KV_NODE_*` environment variables, command-line flags. Each source yields setting name -> text.
 */

import { ConfigError } from './config-error.js';
import { checkSettingName, isBooleanSetting, isSettingName } from './flag-names.js';
import { UNSUPPORTED_ETCD_FLAGS, envNameOf } from './flag-spec.js';

export { parseConfigFile } from './config-file.js';

/** Text values by flag name. */
export type Settings = Map<string, string>;

/** The result of reading the command line. */
export interface ParsedArguments {
  settings: Settings;
  positionals: string[];
  help: boolean;
  version: boolean;
}

/**
 * Reads `--flag value`, `--flag=value`, `-flag value` (Go style, as etcd accepts) and bare
 * boolean flags.
 *
 * @throws ConfigError for an unknown flag or a missing value.
 */
export function parseArguments(argv: readonly string[]): ParsedArguments {
  const settings: Settings = new Map();
  const positionals: string[] = [];
  let help = false;
  let version = false;
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index] as string;
    if (argument === '--') {
      positionals.push(...argv.slice(index + 1));
      break;
    }
    if (!argument.startsWith('-') || argument === '-') {
      positionals.push(argument);
      continue;
    }
    const body = argument.replace(/^--?/, '');
    const equals = body.indexOf('=');
    const name = equals < 0 ? body : body.slice(0, equals);
    if (name === 'help' || name === 'h') {
      help = true;
      continue;
    }
    if (name === 'version') {
      version = true;
      continue;
    }
    checkSettingName(name, 'command line');
    let value: string;
    if (equals >= 0) {
      value = body.slice(equals + 1);
    } else if (isBooleanSetting(name)) {
      value = 'true';
    } else {
      const next = argv[index + 1];
      if (next === undefined || (next.startsWith('--') && next.length > 2)) {
        throw new ConfigError(name, 'needs a value');
      }
      value = next;
      index++;
    }
    settings.set(name, value);
  }
  return { settings, positionals, help, version };
}

/** Settings read from the environment, and what to warn about. */
export interface EnvironmentSettings {
  settings: Settings;
  /** Lines to log at startup (etcd's "unrecognized environment variable" warnings). */
  warnings: string[];
}

/** The flag a variable names: `ETCD_INITIAL_CLUSTER` -> `initial-cluster`. */
function flagOf(variable: string, prefix: string): string {
  return variable
    .slice(prefix.length + 1)
    .toLowerCase()
    .replace(/_/g, '-');
}

/**
 * `ETCD_*` variables read as etcd 3.4 reads them (`pkg/flags.SetFlagsFromEnv`): `ETCD_FOO_BAR`
 * sets `--foo-bar` unless empty; a variable for a flag also given on the command line is an error
 * (etcd exits: "conflicting environment variable ... is shadowed by corresponding command-line
 * flag"); an `ETCD_*` variable that names no setting is logged and ignored, as etcd does.
 */
function readEtcdVariables(
  env: Readonly<Record<string, string | undefined>>,
  commandLine: Settings,
  into: EnvironmentSettings,
): void {
  for (const [variable, value] of Object.entries(env)) {
    if (!variable.startsWith('ETCD_') || value === undefined) continue;
    const flag = flagOf(variable, 'ETCD');
    if (!isSettingName(flag)) {
      if (UNSUPPORTED_ETCD_FLAGS.includes(flag)) checkSettingName(flag, `environment ${variable}`);
      into.warnings.push(`unrecognized environment variable ${variable}=${value}`);
      continue;
    }
    if (commandLine.has(flag)) {
      throw new ConfigError(
        flag,
        `conflicting environment variable "${variable}" is shadowed by corresponding command-line flag (either unset environment variable or disable flag)`,
      );
    }
    if (value !== '') into.settings.set(flag, value);
  }
}

/**
 * `KV_NODE_*` variables: the same names after kv-node's prefix; a flag on the command line wins
 * over them. A `KV_NODE_*` variable that names no flag is an error (a typo would otherwise be
 * silently ignored), and so is one that disagrees with the `ETCD_*` variable of the same flag.
 */
function readKvNodeVariables(
  env: Readonly<Record<string, string | undefined>>,
  into: EnvironmentSettings,
): void {
  for (const [variable, value] of Object.entries(env)) {
    if (!variable.startsWith('KV_NODE_') || value === undefined) continue;
    const flag = flagOf(variable, 'KV_NODE');
    checkSettingName(flag, `environment variable ${variable}`);
    const fromEtcd = into.settings.get(flag);
    if (fromEtcd !== undefined && fromEtcd !== value) {
      throw new ConfigError(
        flag,
        `${variable}="${value}" and ${envNameOf(flag, 'ETCD')}="${fromEtcd}" disagree; set one`,
      );
    }
    into.settings.set(flag, value);
  }
}

/**
 * Reads `ETCD_*` and `KV_NODE_*` variables.
 *
 * @param commandLine the flags given, against which `ETCD_*` variables conflict as in etcd.
 * @throws ConfigError for a `KV_NODE_*` variable that names no flag, an `ETCD_*` variable shadowed
 *   by a flag or naming a flag kv-node refuses, or the two prefixes disagreeing.
 */
export function readEnvironment(
  env: Readonly<Record<string, string | undefined>>,
  commandLine: Settings = new Map(),
): EnvironmentSettings {
  const read: EnvironmentSettings = { settings: new Map(), warnings: [] };
  readEtcdVariables(env, commandLine, read);
  readKvNodeVariables(env, read);
  return read;
}
