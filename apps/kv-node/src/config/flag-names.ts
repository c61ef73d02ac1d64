/**
 * Which setting names kv-node accepts: its flags (etcd's names where they mean the same), etcd's
 * settings it accepts without effect, and not etcd's flags that it refuses.
 */

import { ConfigError } from './config-error.js';
import { FLAG_SPECS, UNSUPPORTED_ETCD_FLAGS } from './flag-spec.js';
import type { FlagSpec } from './flag-spec.js';
import { INERT_ETCD_SETTINGS } from './inert-etcd-settings.js';

/** kv-node's flags by name. */
export const KNOWN_FLAGS: ReadonlyMap<string, FlagSpec> = new Map(
  FLAG_SPECS.map((spec) => [spec.name, spec]),
);

/** Whether `name` is a setting kv-node reads (a flag of its own, or an inert etcd setting). */
export function isSettingName(name: string): boolean {
  return KNOWN_FLAGS.has(name) || INERT_ETCD_SETTINGS.has(name);
}

/** Whether a bare `--name` means `--name=true`. */
export function isBooleanSetting(name: string): boolean {
  if (KNOWN_FLAGS.get(name)?.kind === 'boolean') return true;
  const accepts = INERT_ETCD_SETTINGS.get(name)?.accepts;
  return accepts !== undefined && accepts.every((value) => value === 'true' || value === 'false');
}

/**
 * Checks that `name` is a setting kv-node reads.
 *
 * @throws ConfigError for an etcd flag kv-node refuses, or a name that is no setting at all (a
 *   typo would otherwise be silently ignored). `where` says where the name was found.
 */
export function checkSettingName(name: string, where: string): void {
  if (isSettingName(name)) return;
  if (UNSUPPORTED_ETCD_FLAGS.includes(name)) {
    throw new ConfigError(name, `is an etcd flag that kv-node does not support (${where})`);
  }
  throw new ConfigError(name, `unknown flag (${where}); see --help`);
}
