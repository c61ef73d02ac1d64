/**
 * Where settings come from, lowest precedence first: defaults, a config file, `KV_NODE_*`
 * environment variables, command-line flags. Each source yields flag name -> text value.
 */

import { ConfigError } from './config-error.js';
import { FLAG_SPECS, UNSUPPORTED_ETCD_FLAGS, envNameOf } from './flag-spec.js';

const knownFlags = new Map(FLAG_SPECS.map((spec) => [spec.name, spec]));

/** Text values by flag name. */
export type Settings = Map<string, string>;

function checkFlagName(name: string, where: string): void {
  if (knownFlags.has(name)) return;
  if (UNSUPPORTED_ETCD_FLAGS.includes(name)) {
    throw new ConfigError(name, `is an etcd flag that kv-node does not support (${where})`);
  }
  throw new ConfigError(name, `unknown flag (${where}); see --help`);
}

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
    checkFlagName(name, 'command line');
    const spec = knownFlags.get(name);
    let value: string;
    if (equals >= 0) {
      value = body.slice(equals + 1);
    } else if (spec?.kind === 'boolean') {
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

/**
 * Reads `KV_NODE_*` variables.
 *
 * @throws ConfigError for a `KV_NODE_*` variable that names no flag (a typo would otherwise be
 *   silently ignored).
 */
export function readEnvironment(env: Readonly<Record<string, string | undefined>>): Settings {
  const settings: Settings = new Map();
  const byEnvName = new Map(FLAG_SPECS.map((spec) => [envNameOf(spec.name), spec.name]));
  for (const [variable, value] of Object.entries(env)) {
    if (!variable.startsWith('KV_NODE_') || value === undefined) continue;
    const name = byEnvName.get(variable);
    if (name === undefined) {
      const flag = variable.slice('KV_NODE_'.length).toLowerCase().replace(/_/g, '-');
      checkFlagName(flag, `environment variable ${variable}`);
      continue;
    }
    settings.set(name, value);
  }
  return settings;
}

function unquote(text: string): string {
  const trimmed = text.trim();
  if (
    trimmed.length >= 2 &&
    ((trimmed.startsWith("'") && trimmed.endsWith("'")) ||
      (trimmed.startsWith('"') && trimmed.endsWith('"')))
  ) {
    return trimmed.slice(1, -1);
  }
  return trimmed;
}

/**
 * Reads a config file: a JSON object, or flat YAML (`flag-name: value` lines, `#` comments), the
 * subset of etcd's YAML config files that kv-node's flags cover.
 *
 * @throws ConfigError naming `config-file` when the file does not parse, or the unknown key.
 */
export function parseConfigFile(text: string, path: string): Settings {
  const settings: Settings = new Map();
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (error) {
      throw new ConfigError(
        'config-file',
        `${path} is not valid JSON: ${(error as Error).message}`,
      );
    }
    for (const [name, value] of Object.entries(parsed as Record<string, unknown>)) {
      checkFlagName(name, `config file ${path}`);
      if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
        throw new ConfigError(name, `must be a string, number or boolean in ${path}`);
      }
      settings.set(name, String(value));
    }
    return settings;
  }
  text.split(/\r?\n/).forEach((line, index) => {
    const content = line.replace(/(^|\s)#.*$/, '').trimEnd();
    if (content.trim() === '') return;
    const match = /^([a-z0-9-]+):(?:\s+(.*))?$/.exec(content);
    if (match === null || /^\s/.test(content)) {
      throw new ConfigError(
        'config-file',
        `${path}:${index + 1}: expected "flag-name: value" (nested YAML is not supported)`,
      );
    }
    const name = match[1] as string;
    checkFlagName(name, `config file ${path}:${index + 1}`);
    const value = unquote(match[2] ?? '');
    if (value !== '' && value !== 'null' && value !== '~') settings.set(name, value);
  });
  return settings;
}
