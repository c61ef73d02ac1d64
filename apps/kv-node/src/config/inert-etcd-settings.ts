/**
 * etcd 3.4 settings that kv-node has no use for, but that an etcd configuration commonly carries
 * (etcd's `etcd.conf.yml.sample` sets most of them). Each is accepted when its value leaves kv-node
 * behaving as etcd would with it, silently at etcd's default and with a warning otherwise; a value
 * that would change behaviour kv-node does not have (a WAL directory, discovery, the v2 API, auto
 * TLS, cipher suites) is refused, so an etcd configuration never half-applies.
 */

/** An etcd setting accepted without effect. */
export interface InertEtcdSetting {
  /** etcd's flag name. */
  readonly name: string;
  /** etcd 3.4's default, as text: silent when the value is this or empty. */
  readonly etcdDefault: string;
  /** Values accepted (with a warning); absent: any value. */
  readonly accepts?: readonly string[];
  /** Why the setting has no effect in kv-node: the warning's, or the refusal's, reason. */
  readonly reason: string;
}

const ANY_BOOLEAN = ['true', 'false'];
const PROXY_OFF = "the v2 proxy is off in kv-node (--proxy 'off')";
const GRPC_KEEPALIVE = "the gRPC server sends no keepalive pings and answers the client's";
const SECURITY =
  'a security setting kv-node does not implement is refused rather than silently ignored';

/** The table, by etcd flag name. */
export const INERT_ETCD_SETTINGS: ReadonlyMap<string, InertEtcdSetting> = new Map(
  (
    [
      {
        name: 'logger',
        etcdDefault: 'capnslog',
        accepts: ['zap', 'capnslog'],
        reason: 'kv-node logs JSON lines with pino (see --log-format)',
      },
      {
        name: 'log-package-levels',
        etcdDefault: '',
        reason: 'kv-node has one --log-level for the whole member',
      },
      {
        name: 'debug',
        etcdDefault: 'false',
        accepts: ['false'],
        reason: 'use --log-level debug',
      },
      {
        name: 'enable-v2',
        etcdDefault: 'false',
        accepts: ['false'],
        reason: "kv-node does not serve etcd's v2 API",
      },
      {
        name: 'pre-vote',
        etcdDefault: 'false',
        accepts: ANY_BOOLEAN,
        reason: 'kv-node always runs a pre-vote round before an election',
      },
      {
        name: 'max-snapshots',
        etcdDefault: '5',
        reason: 'kv-node keeps its latest snapshot and the log after it (see --snapshot-count)',
      },
      {
        name: 'max-wals',
        etcdDefault: '5',
        reason: 'kv-node deletes log segments a snapshot covers (see --snapshot-count)',
      },
      {
        name: 'wal-dir',
        etcdDefault: '',
        accepts: [''],
        reason: 'kv-node keeps its log inside --data-dir',
      },
      {
        name: 'cors',
        etcdDefault: '*',
        reason: 'kv-node sends no CORS headers: pages on other origins cannot read its answers',
      },
      ...['discovery', 'discovery-srv', 'discovery-srv-name', 'discovery-proxy'].map((name) => ({
        name,
        etcdDefault: '',
        accepts: [''],
        reason: 'kv-node has no discovery: list the members in --initial-cluster',
      })),
      {
        name: 'discovery-fallback',
        etcdDefault: 'proxy',
        accepts: ['proxy', 'exit'],
        reason: 'kv-node has no discovery',
      },
      {
        name: 'strict-reconfig-check',
        etcdDefault: 'true',
        accepts: ANY_BOOLEAN,
        reason: 'kv-node has no runtime membership changes yet',
      },
      {
        name: 'initial-election-tick-advance',
        etcdDefault: 'true',
        accepts: ANY_BOOLEAN,
        reason: "kv-node's first election follows its own timing (--election-timeout)",
      },
      {
        name: 'enable-pprof',
        etcdDefault: 'false',
        accepts: ANY_BOOLEAN,
        reason: "kv-node serves no profiling endpoints (use Node's --inspect or --cpu-prof)",
      },
      {
        name: 'metrics',
        etcdDefault: 'basic',
        accepts: ['basic', 'extensive'],
        reason: 'kv-node always exports its histograms, gRPC handling time included',
      },
      {
        name: 'enable-grpc-gateway',
        etcdDefault: 'true',
        accepts: ['true'],
        reason: 'kv-node always serves the JSON gateway beside gRPC',
      },
      { name: 'proxy', etcdDefault: 'off', accepts: ['off'], reason: 'kv-node is never a proxy' },
      ...[
        ['proxy-failure-wait', '5000'],
        ['proxy-refresh-interval', '30000'],
        ['proxy-dial-timeout', '1000'],
        ['proxy-write-timeout', '5000'],
        ['proxy-read-timeout', '0'],
      ].map(([name, etcdDefault]) => ({
        name: name as string,
        etcdDefault: etcdDefault as string,
        reason: PROXY_OFF,
      })),
      { name: 'grpc-keepalive-min-time', etcdDefault: '5s', reason: GRPC_KEEPALIVE },
      { name: 'grpc-keepalive-interval', etcdDefault: '2h', reason: GRPC_KEEPALIVE },
      { name: 'grpc-keepalive-timeout', etcdDefault: '20s', reason: GRPC_KEEPALIVE },
      {
        name: 'max-concurrent-streams',
        etcdDefault: '4294967295',
        reason: 'the gRPC server allows 1,024 concurrent streams per connection',
      },
      {
        name: 'backend-batch-limit',
        etcdDefault: '0',
        reason: 'kv-node has no bbolt backend; its log commits writes in groups',
      },
      {
        name: 'backend-batch-interval',
        etcdDefault: '',
        reason: 'kv-node has no bbolt backend; its log commits writes in groups',
      },
      {
        name: 'peer-client-cert-auth',
        etcdDefault: 'false',
        accepts: ANY_BOOLEAN,
        reason: 'kv-node always requires peer certificates signed by --peer-trusted-ca-file',
      },
      {
        name: 'force-new-cluster',
        etcdDefault: 'false',
        accepts: ['false'],
        reason: 'kv-node cannot force a new cluster from an existing data directory',
      },
      ...['auto-tls', 'peer-auto-tls'].map((name) => ({
        name,
        etcdDefault: 'false',
        accepts: ['false'],
        reason: 'kv-node does not generate certificates: give --cert-file and --key-file',
      })),
      ...[
        'cipher-suites',
        'client-crl-file',
        'peer-crl-file',
        'peer-cert-allowed-cn',
        'peer-cert-allowed-hostname',
      ].map((name) => ({ name, etcdDefault: '', accepts: [''], reason: SECURITY })),
      // etcd 3.5's sample file has these three; Node's TLS defaults are TLS 1.2 to 1.3.
      {
        name: 'self-signed-cert-validity',
        etcdDefault: '1',
        reason: 'kv-node does not generate certificates',
      },
      {
        name: 'tls-min-version',
        etcdDefault: 'TLS1.2',
        accepts: ['', 'TLS1.2'],
        reason: 'kv-node uses TLS 1.2 at least (Node.js defaults)',
      },
      {
        name: 'tls-max-version',
        etcdDefault: 'TLS1.3',
        accepts: ['', 'TLS1.3'],
        reason: 'kv-node uses TLS 1.3 at most (Node.js defaults)',
      },
      {
        name: 'unsafe-no-fsync',
        etcdDefault: 'false',
        accepts: ['false'],
        reason: 'kv-node always syncs its log before acknowledging',
      },
      ...['socket-reuse-port', 'socket-reuse-address'].map((name) => ({
        name,
        etcdDefault: 'false',
        accepts: ['false'],
        reason: 'kv-node does not set SO_REUSEPORT or SO_REUSEADDR',
      })),
    ] satisfies InertEtcdSetting[]
  ).map((setting) => [setting.name, setting]),
);

/** The verdict on one inert setting's value. */
export type InertSettingVerdict =
  { kind: 'silent' } | { kind: 'warn'; message: string } | { kind: 'refuse'; message: string };

/** Whether `value` of the inert setting `setting` is accepted, and with what warning. */
export function judgeInertSetting(setting: InertEtcdSetting, value: string): InertSettingVerdict {
  const text = value.trim();
  if (setting.accepts !== undefined && !setting.accepts.includes(text)) {
    return { kind: 'refuse', message: `"${text}" is not supported: ${setting.reason}` };
  }
  if (text === '' || text === setting.etcdDefault) return { kind: 'silent' };
  return {
    kind: 'warn',
    message: `--${setting.name}=${text} is accepted for etcd compatibility and has no effect: ${setting.reason}`,
  };
}
