/**
 * The validated configuration of one node, resolved from defaults, a config file, `ETCD_*` and
 * `KV_NODE_*` environment variables and flags (highest precedence last).
 */

import { MAX_SCRYPT_COST, MIN_SCRYPT_COST } from '../auth/password-hash.js';
import type { ApiLimits } from '../http/api-limits.js';
import { HostAllowlist, LOOPBACK_HOSTS } from '../http/host-allowlist.js';
import { ConfigError } from './config-error.js';
import { FLAG_SPECS } from './flag-spec.js';
import type { FlagSpec } from './flag-spec.js';
import { INERT_ETCD_SETTINGS, judgeInertSetting } from './inert-etcd-settings.js';
import { clusterIdOf, memberIdOf } from './member-id.js';
import { checkPeerAuthentication } from './peer-security.js';
import type { Settings } from './settings-sources.js';
import { parseArguments, parseConfigFile, readEnvironment } from './settings-sources.js';
import type { StateBackendName } from '../store/state-store.js';
import { LMDB_MAX_KEY_BYTES } from '../store/state-store.js';

/** One member of the initial cluster. */
export interface MemberConfig {
  name: string;
  /** etcd-style member id (decimal uint64). */
  id: string;
  peerUrls: string[];
}

/** TLS files of a port. */
export interface TlsFiles {
  certFile: string;
  keyFile: string;
  trustedCaFile?: string;
}

/** Everything a node needs to start. */
export interface NodeConfig {
  name: string;
  dataDir: string;
  listenClientUrls: URL[];
  /** `--listen-metrics-urls`: more listeners that serve only `/metrics` and `/health`. */
  listenMetricsUrls: URL[];
  advertiseClientUrls: string[];
  listenPeerUrl: URL;
  advertisePeerUrls: string[];
  members: MemberConfig[];
  memberId: string;
  clusterToken: string;
  clusterId: string;
  clusterState: 'new' | 'existing';
  /**
   * `--initial-cluster-id` (decimal), optional: the cluster a new member expects to join (it
   * learns the cluster's id from the members; this is checked against it). The id cannot be
   * computed from `--initial-cluster`, which lists today's members, not the initial ones.
   */
  joinClusterId: string | undefined;
  heartbeatIntervalMs: number;
  electionTimeoutMs: number;
  /** `--failure-detector`: how the replica suspects a silent leader or follower. */
  failureDetector: 'fixed' | 'phi';
  snapshotCount: number;
  /** `--snapshot-log-bytes`: command bytes applied between snapshots; 0 for no byte bound. */
  snapshotLogBytes: number;
  /** `--backend`: where the key-value state lives (see `store/state-store.ts`). */
  backend: 'memory' | 'lmdb';
  peerSecretFile?: string;
  clientTls?: TlsFiles & { clientCertAuth: boolean };
  /** Client authentication (etcd's auth): token lifetime and password hash cost. */
  auth: {
    /** `--auth-token-ttl`, in seconds. */
    tokenTtlSeconds: number;
    /** `--auth-scrypt-cost`: log2 N of scrypt. */
    scryptCost: number;
  };
  peerTls?: TlsFiles;
  /**
   * Host names the client port answers (`--host-whitelist`; `['*']`: any). Default: the loopback
   * names and the hosts of the listen and advertise client URLs.
   */
  allowedHosts: string[];
  limits: ApiLimits;
  /**
   * Bounds on the leader's pending writes (`--max-pending-proposals`, `--max-uncommitted-bytes`):
   * past them a write is refused at once with 429 and `Retry-After`.
   */
  pendingWrites: { maxProposals: number; maxUncommittedBytes: number };
  requestTimeoutMs: number;
  /** `--log-level`, etcd's levels (`panic` logs as pino's `fatal`). */
  logLevel: LogLevel;
  logFormat: 'json' | 'text';
  /** `--log-outputs`: the stream logs go to (etcd's `default` is standard error). */
  logOutput: 'stderr' | 'stdout';
  /**
   * What the member logs as warnings once its logger exists: etcd settings accepted without
   * effect, unrecognized `ETCD_*` variables.
   */
  warnings: string[];
  /**
   * UNSAFE, tests only (`--unsafe-local-linearizable-reads`): the leader serves linearizable
   * reads without the quorum round (DESIGN.md §5 rule 7 broken on purpose).
   */
  unsafeLocalLinearizableReads: boolean;
  /** `--quota-backend-bytes` (0 resolved to etcd's default of 2 GiB). */
  quotaBackendBytes: number;
  /** `--experimental-watch-progress-notify-interval`, in ms (etcd's default: 10 minutes). */
  watchProgressIntervalMs: number;
  /** `--auto-compaction-mode` and `--auto-compaction-retention`; absent when off. */
  autoCompaction?: AutoCompactionConfig;
  /** `--replication`: leader-follower (default) or leaderless quorum mode. */
  replication: 'leader' | 'quorum';
  /** Quorum mode: R and W (`--read-quorum`, `--write-quorum`; default a majority of members). */
  readQuorum: number;
  writeQuorum: number;
  /** Quorum mode: how far ahead of the wall clock a peer's timestamp may be, in ms. */
  maxClockOffsetMs: number;
  /** Quorum mode: milliseconds between anti-entropy rounds (0: off). */
  antiEntropyIntervalMs: number;
}

/** The levels a member logs at (etcd's, with `panic` read as `fatal`). */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'fatal';

/** etcd's default backend quota, 2 GiB. */
export const DEFAULT_QUOTA_BACKEND_BYTES = 2 * 1024 ** 3;

/** Automatic compaction: keep `retentionMs` of history, or `retentionRevisions` revisions. */
export type AutoCompactionConfig =
  | { mode: 'periodic'; retentionMs: number }
  | { mode: 'revision'; retentionRevisions: number; checkIntervalMs: number };

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go-style duration (`90s`, `1h30m`, `500ms`) in milliseconds. @throws ConfigError. */
function durationMs(flag: string, text: string, expected = 'a duration'): number {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((part) => part[0]).join('') !== text) {
    throw new ConfigError(flag, `must be ${expected} such as 30m or 1h30m, got "${text}"`);
  }
  return parts.reduce(
    (total, part) => total + Number(part[1]) * DURATION_UNITS_MS[part[2] as string]!,
    0,
  );
}

/** Reads the auto-compaction flags as etcd does (a bare number of hours in periodic mode). */
function autoCompaction(view: SettingsView): AutoCompactionConfig | undefined {
  const mode = view.choice<'periodic' | 'revision'>('auto-compaction-mode');
  const text = view.text('auto-compaction-retention').trim();
  if (mode === 'revision') {
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
      throw new ConfigError(
        'auto-compaction-retention',
        `must be a revision count in revision mode, got "${text}"`,
      );
    }
    const retentionRevisions = Number(text);
    const checkIntervalMs = view.integer('auto-compaction-check-interval', 1);
    return retentionRevisions === 0 ? undefined : { mode, retentionRevisions, checkIntervalMs };
  }
  let retentionMs: number;
  if (/^\d+$/.test(text)) {
    retentionMs = Number(text) * DURATION_UNITS_MS.h!;
  } else {
    retentionMs = durationMs('auto-compaction-retention', text, 'hours or a duration');
  }
  if (!Number.isSafeInteger(Math.round(retentionMs))) {
    throw new ConfigError('auto-compaction-retention', `is too long: "${text}"`);
  }
  return retentionMs === 0 ? undefined : { mode, retentionMs: Math.round(retentionMs) };
}

function watchProgressInterval(view: SettingsView): number {
  const flag = 'experimental-watch-progress-notify-interval';
  const milliseconds = Math.round(durationMs(flag, view.text(flag).trim()));
  if (milliseconds < 1 || !Number.isSafeInteger(milliseconds)) {
    throw new ConfigError(flag, 'must be at least 1ms');
  }
  return milliseconds;
}

/** A resolved command line: a node configuration, or a request for help or the version. */
export type ConfigResult =
  | { kind: 'help' }
  | { kind: 'version' }
  | { kind: 'config'; config: NodeConfig; positionals: string[] };

const specs = new Map(FLAG_SPECS.map((spec) => [spec.name, spec]));

class SettingsView {
  readonly #settings: Settings;

  constructor(settings: Settings) {
    this.#settings = settings;
  }

  text(name: string): string {
    const spec = specs.get(name) as FlagSpec;
    const value = this.#settings.get(name) ?? spec.defaultValue;
    return value.replace('{name}', this.#settings.get('name') ?? 'default');
  }

  has(name: string): boolean {
    return this.#settings.has(name) && this.#settings.get(name) !== '';
  }

  integer(name: string, minimum: number): number {
    const text = this.text(name);
    const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
    if (!Number.isSafeInteger(value) || value < minimum) {
      throw new ConfigError(name, `must be an integer >= ${minimum}, got "${text}"`);
    }
    return value;
  }

  boolean(name: string): boolean {
    const text = this.text(name);
    if (text === 'true' || text === '1') return true;
    if (text === 'false' || text === '0' || text === '') return false;
    throw new ConfigError(name, `must be true or false, got "${text}"`);
  }

  choice<T extends string>(name: string): T {
    const text = this.text(name);
    const values = specs.get(name)?.values ?? [];
    if (!values.includes(text)) {
      throw new ConfigError(name, `must be one of ${values.join(', ')}, got "${text}"`);
    }
    return text as T;
  }

  urls(name: string, fallback?: string): URL[] {
    const text = this.has(name) || fallback === undefined ? this.text(name) : fallback;
    return parseUrlList(name, text);
  }

  optional(name: string): string | undefined {
    return this.has(name) ? this.text(name) : undefined;
  }
}

function parseUrl(flag: string, text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(flag, `"${text}" is not a URL (expected http://host:port)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(flag, `"${text}" must use http:// or https://`);
  }
  if (url.port === '' || url.hostname === '') {
    throw new ConfigError(flag, `"${text}" must name a host and a port`);
  }
  if (url.pathname !== '/' || url.search !== '' || url.username !== '') {
    throw new ConfigError(flag, `"${text}" must be scheme://host:port only`);
  }
  return url;
}

function parseUrlList(flag: string, text: string): URL[] {
  const parts = text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
  if (parts.length === 0) throw new ConfigError(flag, 'needs at least one URL');
  return parts.map((part) => parseUrl(flag, part));
}

function origin(url: URL): string {
  return `${url.protocol}//${url.host}`;
}

function parseInitialCluster(text: string, token: string): MemberConfig[] {
  const byName = new Map<string, string[]>();
  for (const entry of text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')) {
    const equals = entry.indexOf('=');
    if (equals <= 0) {
      throw new ConfigError('initial-cluster', `"${entry}" must be name=peerURL`);
    }
    const name = entry.slice(0, equals);
    const url = origin(parseUrl('initial-cluster', entry.slice(equals + 1)));
    byName.set(name, [...(byName.get(name) ?? []), url]);
  }
  if (byName.size === 0) throw new ConfigError('initial-cluster', 'names no members');
  const members = [...byName].map(([name, peerUrls]) => ({
    name,
    id: memberIdOf(peerUrls, token),
    peerUrls,
  }));
  const urls = members.flatMap((member) => member.peerUrls);
  const duplicate = urls.find((url, index) => urls.indexOf(url) !== index);
  if (duplicate !== undefined) {
    throw new ConfigError('initial-cluster', `peer URL ${duplicate} is listed twice`);
  }
  return members;
}

/** `--initial-cluster-id` as etcd prints ids (hex), to the decimal form kv-node keeps. */
function parseJoinClusterId(text: string): string | undefined {
  if (text === '') return undefined;
  if (!/^[0-9a-fA-F]{1,16}$/.test(text)) {
    throw new ConfigError(
      'initial-cluster-id',
      `"${text}" must be a cluster id in hex, as \`member add\` prints it`,
    );
  }
  return BigInt(`0x${text}`).toString(10);
}

/** Merges sources (later ones win) and validates the result. @throws ConfigError naming the flag. */
/**
 * `--max-key-bytes`, checked against what the backend can store: on LMDB a longer key would be
 * admitted and then fail every member when applied.
 *
 * @throws ConfigError if the backend cannot store keys that long.
 */
function maxKeyBytesFor(backend: StateBackendName, maxKeyBytes: number): number {
  if (backend === 'lmdb' && maxKeyBytes > LMDB_MAX_KEY_BYTES) {
    throw new ConfigError(
      'max-key-bytes',
      `is ${maxKeyBytes}; with --backend lmdb keys can be at most ${LMDB_MAX_KEY_BYTES} bytes`,
    );
  }
  return maxKeyBytes;
}

export function buildConfig(...sources: Settings[]): NodeConfig {
  const merged: Settings = new Map();
  for (const source of sources) for (const [name, value] of source) merged.set(name, value);
  const view = new SettingsView(merged);
  const name = view.text('name');
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(name)) {
    throw new ConfigError('name', `"${name}" must be 1-63 letters, digits, '.', '_' or '-'`);
  }
  const listenClientUrls = view.urls('listen-client-urls');
  const listenMetricsUrls = view.has('listen-metrics-urls') ? view.urls('listen-metrics-urls') : [];
  if (listenMetricsUrls.some((url) => url.protocol === 'https:') && !view.has('cert-file')) {
    throw new ConfigError(
      'listen-metrics-urls',
      'https:// needs --cert-file and --key-file (the client port TLS files)',
    );
  }
  const peerUrls = view.urls('listen-peer-urls');
  if (peerUrls.length !== 1) {
    throw new ConfigError('listen-peer-urls', 'kv-node listens for peers on exactly one URL');
  }
  const listenPeerUrl = peerUrls[0] as URL;
  const advertiseClientUrls = view
    .urls('advertise-client-urls', listenClientUrls.map(origin).join(','))
    .map(origin);
  const advertisePeerUrls = view
    .urls('initial-advertise-peer-urls', origin(listenPeerUrl))
    .map(origin);
  const clusterToken = view.text('initial-cluster-token');
  if (clusterToken === '') throw new ConfigError('initial-cluster-token', 'must not be empty');
  const members = parseInitialCluster(
    view.has('initial-cluster')
      ? view.text('initial-cluster')
      : `${name}=${advertisePeerUrls.join(`,${name}=`)}`,
    clusterToken,
  );
  const self = members.find((member) => member.name === name);
  if (self === undefined) {
    throw new ConfigError('initial-cluster', `does not list this member's --name "${name}"`);
  }
  if ([...self.peerUrls].sort().join(',') !== [...advertisePeerUrls].sort().join(',')) {
    throw new ConfigError(
      'initial-advertise-peer-urls',
      `${advertisePeerUrls.join(',')} differs from ${name}'s entry in --initial-cluster (${self.peerUrls.join(',')})`,
    );
  }
  const heartbeatIntervalMs = view.integer('heartbeat-interval', 1);
  const electionTimeoutMs = view.integer('election-timeout', 1);
  if (electionTimeoutMs < 5 * heartbeatIntervalMs) {
    throw new ConfigError(
      'election-timeout',
      `${electionTimeoutMs} ms must be at least 5 times --heartbeat-interval (${heartbeatIntervalMs} ms)`,
    );
  }
  const clientTls = tlsFiles(view, 'cert-file', 'key-file', 'trusted-ca-file');
  const clientCertAuth = view.boolean('client-cert-auth');
  if (clientCertAuth && clientTls?.trustedCaFile === undefined) {
    throw new ConfigError(
      'client-cert-auth',
      'needs --trusted-ca-file (and --cert-file, --key-file)',
    );
  }
  const httpsClients = listenClientUrls.some((url) => url.protocol === 'https:');
  if (httpsClients !== (clientTls !== undefined)) {
    throw new ConfigError(
      'listen-client-urls',
      httpsClients
        ? 'https:// needs --cert-file and --key-file'
        : '--cert-file needs https:// client URLs',
    );
  }
  const peerTls = tlsFiles(view, 'peer-cert-file', 'peer-key-file', 'peer-trusted-ca-file');
  const peerSchemes = new Set(
    [listenPeerUrl, ...members.flatMap((member) => member.peerUrls.map((url) => new URL(url)))].map(
      (url) => url.protocol,
    ),
  );
  if (peerSchemes.size > 1) {
    throw new ConfigError('initial-cluster', 'peer URLs must all be http:// or all https://');
  }
  if (peerSchemes.has('https:') !== (peerTls !== undefined)) {
    throw new ConfigError(
      'listen-peer-urls',
      peerTls === undefined
        ? 'https:// peer URLs need --peer-cert-file and --peer-key-file'
        : '--peer-cert-file needs https:// peer URLs',
    );
  }
  const peerSecretFile = view.optional('peer-secret-file');
  const compaction = autoCompaction(view);
  checkPeerAuthentication({
    listenPeerUrl,
    advertisePeerUrls,
    memberPeerUrls: members.flatMap((member) => member.peerUrls),
    memberCount: members.length,
    hasSecretFile: peerSecretFile !== undefined,
    hasPeerTls: peerTls !== undefined,
  });
  return {
    name,
    dataDir: view.text('data-dir'),
    listenClientUrls,
    listenMetricsUrls,
    advertiseClientUrls,
    listenPeerUrl,
    advertisePeerUrls,
    members,
    memberId: self.id,
    clusterToken,
    clusterId: clusterIdOf(members.map((member) => member.id)),
    clusterState: view.choice('initial-cluster-state'),
    joinClusterId: parseJoinClusterId(view.text('initial-cluster-id')),
    heartbeatIntervalMs,
    electionTimeoutMs,
    failureDetector: view.choice('failure-detector'),
    snapshotCount: view.integer('snapshot-count', 1),
    snapshotLogBytes: view.integer('snapshot-log-bytes', 0),
    backend: view.choice('backend'),
    ...(peerSecretFile === undefined ? {} : { peerSecretFile }),
    ...(clientTls === undefined ? {} : { clientTls: { ...clientTls, clientCertAuth } }),
    ...(peerTls === undefined ? {} : { peerTls }),
    auth: {
      tokenTtlSeconds: view.integer('auth-token-ttl', 1),
      scryptCost: scryptCost(view),
    },
    allowedHosts: allowedHosts(view, [
      ...listenClientUrls.map((url) => url.host),
      ...listenMetricsUrls.map((url) => url.host),
      ...advertiseClientUrls.map((url) => new URL(url).host),
    ]),
    limits: {
      maxRequestBytes: view.integer('max-request-bytes', 1024),
      maxTxnOps: view.integer('max-txn-ops', 1),
      maxTxnReadKeys: view.integer('max-txn-read-keys', 1),
      maxTxnReadBytes: view.integer('max-txn-read-bytes', 1),
      maxRangeResponseBytes: view.integer('max-range-response-bytes', 1024),
      maxKeyBytes: maxKeyBytesFor(view.choice('backend'), view.integer('max-key-bytes', 1)),
      maxValueBytes: view.integer('max-value-bytes', 0),
    },
    pendingWrites: {
      maxProposals: view.integer('max-pending-proposals', 1),
      maxUncommittedBytes: view.integer('max-uncommitted-bytes', 1),
    },
    requestTimeoutMs: view.integer('request-timeout', 100),
    logLevel: logLevelOf(view.choice('log-level')),
    logFormat: view.choice('log-format'),
    logOutput: view.choice('log-outputs') === 'stdout' ? 'stdout' : 'stderr',
    warnings: inertSettingWarnings(merged),
    unsafeLocalLinearizableReads: view.boolean('unsafe-local-linearizable-reads'),
    quotaBackendBytes: view.integer('quota-backend-bytes', 0) || DEFAULT_QUOTA_BACKEND_BYTES,
    watchProgressIntervalMs: watchProgressInterval(view),
    ...(compaction === undefined ? {} : { autoCompaction: compaction }),
    replication: view.choice('replication'),
    ...quorumSizes(view, members.length),
    maxClockOffsetMs: view.integer('max-clock-offset', 0),
    antiEntropyIntervalMs: view.integer('anti-entropy-interval', 0),
  };
}

/** etcd's `panic` level has no pino counterpart; it logs what `fatal` logs. */
function logLevelOf(level: LogLevel | 'panic'): LogLevel {
  return level === 'panic' ? 'fatal' : level;
}

/**
 * The warnings of the etcd settings given that kv-node accepts without effect.
 *
 * @throws ConfigError for such a setting whose value kv-node cannot honour.
 */
function inertSettingWarnings(settings: Settings): string[] {
  const warnings: string[] = [];
  for (const [name, value] of settings) {
    const setting = INERT_ETCD_SETTINGS.get(name);
    if (setting === undefined) continue;
    const verdict = judgeInertSetting(setting, value);
    if (verdict.kind === 'refuse') throw new ConfigError(name, verdict.message);
    if (verdict.kind === 'warn') warnings.push(verdict.message);
  }
  return warnings;
}

/** `--read-quorum` and `--write-quorum`: 1..N, 0 for a majority. */
function quorumSizes(
  view: SettingsView,
  clusterSize: number,
): { readQuorum: number; writeQuorum: number } {
  const majority = Math.floor(clusterSize / 2) + 1;
  const size = (flag: string): number => {
    const value = view.integer(flag, 0);
    if (value > clusterSize) {
      throw new ConfigError(
        flag,
        `${value} is more than the ${clusterSize} members of --initial-cluster`,
      );
    }
    return value === 0 ? majority : value;
  };
  return { readQuorum: size('read-quorum'), writeQuorum: size('write-quorum') };
}

/** `--host-whitelist` as a list, checked, or the default: loopback and the member's own hosts. */
function allowedHosts(view: SettingsView, ownHosts: string[]): string[] {
  const text = view.optional('host-whitelist');
  if (text === undefined) return [...new Set([...LOOPBACK_HOSTS, ...ownHosts])];
  const names = text
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  try {
    HostAllowlist.of(names);
  } catch (error) {
    throw new ConfigError('host-whitelist', (error as Error).message);
  }
  if (names.length === 0)
    throw new ConfigError('host-whitelist', "names no host (use '*' for any)");
  return names;
}

function scryptCost(view: SettingsView): number {
  view.choice('auth-token');
  const cost = view.integer('auth-scrypt-cost', MIN_SCRYPT_COST);
  if (cost > MAX_SCRYPT_COST) {
    throw new ConfigError(
      'auth-scrypt-cost',
      `must be ${MIN_SCRYPT_COST}-${MAX_SCRYPT_COST} (2^${MAX_SCRYPT_COST} needs 128 MiB per hash), got ${cost}`,
    );
  }
  return cost;
}

function tlsFiles(view: SettingsView, cert: string, key: string, ca: string): TlsFiles | undefined {
  const certFile = view.optional(cert);
  const keyFile = view.optional(key);
  const trustedCaFile = view.optional(ca);
  if (certFile === undefined && keyFile === undefined) {
    if (trustedCaFile !== undefined) throw new ConfigError(ca, `needs --${cert} and --${key}`);
    return undefined;
  }
  if (certFile === undefined) throw new ConfigError(cert, `is required with --${key}`);
  if (keyFile === undefined) throw new ConfigError(key, `is required with --${cert}`);
  return { certFile, keyFile, ...(trustedCaFile === undefined ? {} : { trustedCaFile }) };
}

/** Where {@link resolveConfig} reads from. */
export interface ConfigInputs {
  argv: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  /** Reads a config file as UTF-8; throws Node-style errors. */
  readFile(path: string): string;
}

/**
 * Resolves the command line, environment and config file into a validated configuration.
 *
 * @throws ConfigError naming the flag at fault.
 */
export function resolveConfig(inputs: ConfigInputs): ConfigResult {
  const parsed = parseArguments(inputs.argv);
  if (parsed.help) return { kind: 'help' };
  if (parsed.version) return { kind: 'version' };
  const environment = readEnvironment(inputs.env, parsed.settings);
  const configPath = parsed.settings.get('config-file') ?? environment.settings.get('config-file');
  let fileSettings: Settings = new Map();
  if (configPath !== undefined && configPath !== '') {
    let text: string;
    try {
      text = inputs.readFile(configPath);
    } catch (error) {
      throw new ConfigError(
        'config-file',
        `cannot read ${configPath}: ${(error as Error).message}`,
      );
    }
    fileSettings = parseConfigFile(text, configPath);
  }
  const config = buildConfig(fileSettings, environment.settings, parsed.settings);
  return {
    kind: 'config',
    config: { ...config, warnings: [...environment.warnings, ...config.warnings] },
    positionals: parsed.positionals,
  };
}
