/**
 * Reads a `--config-file`: etcd's YAML (`etcd.conf.yml`: flag names as keys, the TLS files nested
 * under `client-transport-security` and `peer-transport-security`, lists for `log-outputs` and
 * `cipher-suites`), or a JSON object of the same keys.
 */

import { parse as parseYaml } from 'yaml';
import { ConfigError } from './config-error.js';
import { checkSettingName } from './flag-names.js';
import type { Settings } from './settings-sources.js';

/** etcd's nested TLS sections: their keys and the flag each one sets. */
const TRANSPORT_SECTIONS: Record<string, Record<string, string>> = {
  'client-transport-security': {
    'cert-file': 'cert-file',
    'key-file': 'key-file',
    'client-cert-auth': 'client-cert-auth',
    'trusted-ca-file': 'trusted-ca-file',
    'auto-tls': 'auto-tls',
    'crl-file': 'client-crl-file',
  },
  'peer-transport-security': {
    'cert-file': 'peer-cert-file',
    'key-file': 'peer-key-file',
    'client-cert-auth': 'peer-client-cert-auth',
    'trusted-ca-file': 'peer-trusted-ca-file',
    'auto-tls': 'peer-auto-tls',
    'crl-file': 'peer-crl-file',
    'allowed-cn': 'peer-cert-allowed-cn',
    'allowed-hostname': 'peer-cert-allowed-hostname',
  },
};

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A scalar or a list as flag text; `undefined` for an empty value (etcd's default then). */
function valueText(name: string, value: unknown, where: string): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
    return String(value);
  }
  // etcd's YAML lists (`log-outputs: [stderr]`) are the flag's comma-separated values.
  if (Array.isArray(value) && value.every((item) => ['string', 'number'].includes(typeof item))) {
    return value.join(',');
  }
  throw new ConfigError(name, `must be a string, number, boolean or list in ${where}`);
}

function setFrom(settings: Settings, name: string, value: unknown, where: string): void {
  checkSettingName(name, where);
  const text = valueText(name, value, where);
  if (text !== undefined && text !== '') settings.set(name, text);
}

function parseDocument(text: string, path: string): unknown {
  const trimmed = text.trim();
  try {
    // JSON is YAML too, but JSON.parse gives the clearer message for a JSON file.
    return trimmed.startsWith('{') ? JSON.parse(trimmed) : parseYaml(text);
  } catch (error) {
    const kind = trimmed.startsWith('{') ? 'JSON' : 'YAML';
    throw new ConfigError(
      'config-file',
      `${path} is not valid ${kind}: ${(error as Error).message}`,
    );
  }
}

/**
 * Reads a config file's settings.
 *
 * @throws ConfigError naming `config-file` when the file does not parse or is not a mapping, or
 *   naming the key that is unknown, refused or of the wrong type.
 */
export function parseConfigFile(text: string, path: string): Settings {
  const settings: Settings = new Map();
  const document = parseDocument(text, path);
  if (document === null || document === undefined) return settings;
  if (!isObject(document)) {
    throw new ConfigError('config-file', `${path} must hold a mapping of flag names to values`);
  }
  for (const [key, value] of Object.entries(document)) {
    const section = TRANSPORT_SECTIONS[key];
    if (section === undefined) {
      setFrom(settings, key, value, `config file ${path}`);
      continue;
    }
    if (value === null) continue;
    if (!isObject(value)) {
      throw new ConfigError(key, `must be a mapping of ${Object.keys(section).join(', ')}`);
    }
    for (const [nestedKey, nestedValue] of Object.entries(value)) {
      const flag = section[nestedKey];
      if (flag === undefined) {
        throw new ConfigError(`${key}.${nestedKey}`, `unknown key (config file ${path})`);
      }
      setFrom(settings, flag, nestedValue, `config file ${path}, ${key}`);
    }
  }
  return settings;
}
