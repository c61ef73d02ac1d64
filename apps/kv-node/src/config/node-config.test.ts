import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError } from './config-error.js';
import { helpText } from './help-text.js';
import { clusterIdOf, memberIdOf } from './member-id.js';
import type { ConfigInputs, NodeConfig } from './node-config.js';
import { resolveConfig } from './node-config.js';

function resolve(
  argv: string[],
  env: Record<string, string> = {},
  files: Record<string, string> = {},
) {
  const inputs: ConfigInputs = {
    argv,
    env,
    readFile: (path) => {
      const text = files[path];
      if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
      return text;
    },
  };
  return resolveConfig(inputs);
}

function config(
  argv: string[],
  env: Record<string, string> = {},
  files: Record<string, string> = {},
): NodeConfig {
  const result = resolve(argv, env, files);
  if (result.kind !== 'config') throw new Error(`got ${result.kind}`);
  return result.config;
}

function flagAtFault(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    if (error instanceof ConfigError) return error.flag;
    throw error;
  }
  throw new Error('no ConfigError');
}

const cluster = 'a=http://127.0.0.1:2380,b=http://127.0.0.1:2390,c=http://127.0.0.1:2400';

describe('node configuration', () => {
  it('chooses the state backend, memory by default, and refuses keys LMDB cannot store', () => {
    expect(config([]).backend).toBe('memory');
    expect(config(['--backend', 'lmdb']).backend).toBe('lmdb');
    expect(config([], { KV_NODE_BACKEND: 'lmdb' }).backend).toBe('lmdb');
    expect(flagAtFault(() => config(['--backend', 'rocksdb']))).toBe('backend');
    expect(config(['--backend', 'lmdb', '--max-key-bytes', '1961']).limits.maxKeyBytes).toBe(1961);
    expect(flagAtFault(() => config(['--backend', 'lmdb', '--max-key-bytes', '1962']))).toBe(
      'max-key-bytes',
    );
    expect(config(['--max-key-bytes', '4096']).limits.maxKeyBytes).toBe(4096);
  });

  it('has defaults that bind to 127.0.0.1 and form a one-member cluster', () => {
    const defaults = config([]);
    expect(defaults.name).toBe('default');
    expect(defaults.dataDir).toBe('default.kv');
    expect(defaults.listenClientUrls.map(String)).toEqual(['http://127.0.0.1:2379/']);
    expect(defaults.listenPeerUrl.hostname).toBe('127.0.0.1');
    expect(defaults.members).toEqual([
      { name: 'default', id: defaults.memberId, peerUrls: ['http://127.0.0.1:2380'] },
    ]);
    expect(defaults.heartbeatIntervalMs).toBe(100);
    expect(defaults.electionTimeoutMs).toBe(1000);
    expect(defaults.limits).toEqual({
      maxRequestBytes: 1572864,
      maxTxnOps: 128,
      maxTxnReadKeys: 10000,
      maxTxnReadBytes: 4194304,
      maxRangeResponseBytes: 67108864,
      maxKeyBytes: 1536,
      maxValueBytes: 1048576,
    });
    expect(defaults.allowedHosts).toEqual(['localhost', '127.0.0.1', '[::1]', '127.0.0.1:2379']);
    expect(defaults.pendingWrites).toEqual({
      maxProposals: 65536,
      maxUncommittedBytes: 268435456,
    });
    const tight = config(['--max-pending-proposals', '100', '--max-uncommitted-bytes', '4096']);
    expect(tight.pendingWrites).toEqual({ maxProposals: 100, maxUncommittedBytes: 4096 });
  });

  it('reads --host-whitelist as etcd spells it; by default loopback and the own client hosts', () => {
    const own = config([
      '--listen-client-urls',
      'http://0.0.0.0:2379',
      '--advertise-client-urls',
      'http://kv-1.internal:2379,http://10.0.0.5:2379',
    ]).allowedHosts;
    expect(own).toEqual([
      'localhost',
      '127.0.0.1',
      '[::1]',
      '0.0.0.0:2379',
      'kv-1.internal:2379',
      '10.0.0.5:2379',
    ]);
    expect(config(['--host-whitelist', 'kv.example, 10.0.0.7']).allowedHosts).toEqual([
      'kv.example',
      '10.0.0.7',
    ]);
    expect(config([], { KV_NODE_HOST_WHITELIST: '*' }).allowedHosts).toEqual(['*']);
    expect(flagAtFault(() => config(['--host-whitelist', 'a.example,bad/name']))).toBe(
      'host-whitelist',
    );
    expect(flagAtFault(() => config(['--host-whitelist', ' , ']))).toBe('host-whitelist');
  });

  it("accepts etcd's flags in --flag value, --flag=value and -flag value forms", () => {
    const parsed = config([
      '--name=b',
      '--data-dir',
      '/tmp/b',
      '-listen-client-urls',
      'http://127.0.0.1:2389',
      '--listen-peer-urls=http://127.0.0.1:2390',
      '--initial-cluster',
      cluster,
      '--initial-cluster-token',
      'prod',
      '--initial-cluster-state',
      'existing',
      '--heartbeat-interval',
      '50',
      '--election-timeout=500',
      '--snapshot-count',
      '1000',
      '--snapshot-log-bytes',
      '4096',
      '--peer-secret-file',
      '/etc/kv/peer-secret',
    ]);
    expect(parsed).toMatchObject({
      name: 'b',
      peerSecretFile: '/etc/kv/peer-secret',
      dataDir: '/tmp/b',
      advertiseClientUrls: ['http://127.0.0.1:2389'],
      advertisePeerUrls: ['http://127.0.0.1:2390'],
      clusterToken: 'prod',
      clusterState: 'existing',
      heartbeatIntervalMs: 50,
      electionTimeoutMs: 500,
      snapshotCount: 1000,
      snapshotLogBytes: 4096,
    });
    expect(parsed.members.map((member) => member.name)).toEqual(['a', 'b', 'c']);
    expect(parsed.memberId).toBe(parsed.members[1]?.id);
  });

  it('computes member and cluster ids like etcd: stable, distinct, token-dependent', () => {
    const a = memberIdOf(['http://127.0.0.1:2380'], 'prod');
    expect(a).toMatch(/^\d+$/);
    expect(memberIdOf(['http://127.0.0.1:2380'], 'prod')).toBe(a);
    expect(memberIdOf(['http://127.0.0.1:2380'], 'test')).not.toBe(a);
    const b = memberIdOf(['http://127.0.0.1:2390'], 'prod');
    expect(clusterIdOf([a, b])).toBe(clusterIdOf([b, a]));
  });

  it('takes flags over KV_NODE_* variables over the config file', () => {
    const files = {
      'node.yaml':
        "# etcd-style\nname: 'a'\ninitial-cluster: a=http://127.0.0.1:2380\nsnapshot-count: 7\nheartbeat-interval: 10\n",
      'node.json': JSON.stringify({ name: 'a', 'snapshot-count': 9 }),
    };
    expect(config(['--config-file', 'node.yaml'], {}, files).snapshotCount).toBe(7);
    expect(config(['--config-file', 'node.json'], {}, files).snapshotCount).toBe(9);
    expect(
      config(['--config-file', 'node.yaml'], { KV_NODE_SNAPSHOT_COUNT: '8' }, files).snapshotCount,
    ).toBe(8);
    expect(
      config(
        ['--config-file', 'node.yaml', '--snapshot-count', '6'],
        { KV_NODE_SNAPSHOT_COUNT: '8' },
        files,
      ).snapshotCount,
    ).toBe(6);
    expect(config([], { KV_NODE_CONFIG_FILE: 'node.yaml' }, files).heartbeatIntervalMs).toBe(10);
  });

  it('answers --help and --version', () => {
    expect(resolve(['--help'])).toEqual({ kind: 'help' });
    expect(resolve(['-h'])).toEqual({ kind: 'help' });
    expect(resolve(['--version'])).toEqual({ kind: 'version' });
  });

  it('rejects invalid configuration naming the flag', () => {
    const cases: [string[], string][] = [
      [['--heartbeat-interval', 'abc'], 'heartbeat-interval'],
      [['--election-timeout', '400'], 'election-timeout'],
      [['--listen-client-urls', 'ftp://127.0.0.1:1'], 'listen-client-urls'],
      [['--listen-client-urls', 'http://127.0.0.1'], 'listen-client-urls'],
      [['--listen-peer-urls', 'http://127.0.0.1:1,http://127.0.0.1:2'], 'listen-peer-urls'],
      [['--name', 'x', '--initial-cluster', cluster], 'initial-cluster'],
      [['--name', 'a', '--initial-cluster', 'a'], 'initial-cluster'],
      [
        [
          '--name',
          'a',
          '--initial-cluster',
          cluster,
          '--listen-peer-urls',
          'http://127.0.0.1:9999',
        ],
        'initial-advertise-peer-urls',
      ],
      [['--initial-cluster-state', 'maybe'], 'initial-cluster-state'],
      [['--name', 'bad name'], 'name'],
      [['--data-dir'], 'data-dir'],
      [['--cert-file', 'c.pem'], 'key-file'],
      [['--cert-file', 'c.pem', '--key-file', 'k.pem'], 'listen-client-urls'],
      [['--listen-peer-urls', 'https://127.0.0.1:2380'], 'listen-peer-urls'],
      [['--client-cert-auth'], 'client-cert-auth'],
      [['--config-file', 'missing.yaml'], 'config-file'],
      [['--log-format', 'xml'], 'log-format'],
    ];
    for (const [argv, flag] of cases) {
      expect(
        flagAtFault(() => config(argv)),
        argv.join(' '),
      ).toBe(flag);
    }
  });

  it('rejects unknown flags, and etcd flags it does not support, with a message', () => {
    expect(() => config(['--bcrypt-cost', '8'])).toThrow(
      '--bcrypt-cost: is an etcd flag that kv-node does not support (command line)',
    );
    expect(() => config(['--colour', 'red'])).toThrow('--colour: unknown flag');
    expect(flagAtFault(() => config([], { KV_NODE_SNAPSHOTCOUNT: '1' }))).toBe('snapshotcount');
    expect(flagAtFault(() => config(['--config-file', 'f'], {}, { f: 'enable-v2: true' }))).toBe(
      'enable-v2',
    );
    expect(flagAtFault(() => config(['--wal-dir', '/wal']))).toBe('wal-dir');
    expect(flagAtFault(() => config(['--discovery', 'https://discovery.etcd.io/x']))).toBe(
      'discovery',
    );
    expect(flagAtFault(() => config(['--log-outputs', 'journal']))).toBe('log-outputs');
    expect(config(['--log-outputs', 'stdout']).logOutput).toBe('stdout');
    expect(config(['--log-outputs', 'stderr']).logOutput).toBe('stderr');
    expect(config([]).logOutput).toBe('stderr');
    expect(flagAtFault(() => config(['--cipher-suites', 'TLS_AES_128_GCM_SHA256']))).toBe(
      'cipher-suites',
    );
  });

  it("accepts etcd's harmless flags with a warning, silently at etcd's defaults", () => {
    const accepted = config([
      '--logger',
      'zap',
      '--enable-v2=false',
      '--pre-vote',
      '--max-snapshots',
      '3',
      '--max-wals',
      '8',
      '--strict-reconfig-check=true',
    ]);
    expect(accepted.warnings).toEqual([
      expect.stringMatching(/^--logger=zap is accepted for etcd compatibility and has no effect: /),
      expect.stringMatching(/^--pre-vote=true .*pre-vote round/),
      expect.stringMatching(/^--max-snapshots=3 /),
      expect.stringMatching(/^--max-wals=8 /),
    ]);
    expect(config([]).warnings).toEqual([]);
  });

  it('reads ETCD_* variables as etcd 3.4 does: ETCD_FOO_BAR sets --foo-bar; flags conflict; unknown ones warn', () => {
    const fromEtcd = config([], {
      ETCD_NAME: 'a',
      ETCD_INITIAL_CLUSTER: cluster,
      ETCD_LISTEN_PEER_URLS: 'http://127.0.0.1:2380',
      ETCD_HEARTBEAT_INTERVAL: '50',
      ETCD_ELECTION_TIMEOUT: '500',
      ETCD_LOG_LEVEL: 'panic',
      ETCD_DATA_DIR: '',
      ETCD_UNKNOWN_THING: 'x',
      ETCD_LOGGER: 'zap',
      ETCD_PEER_SECRET_FILE: 'peer-secret',
    });
    expect(fromEtcd.name).toBe('a');
    expect(fromEtcd.members.map((member) => member.name)).toEqual(['a', 'b', 'c']);
    expect(fromEtcd.heartbeatIntervalMs).toBe(50);
    expect(fromEtcd.electionTimeoutMs).toBe(500);
    expect(fromEtcd.logLevel).toBe('fatal');
    // An empty variable is unset, as in etcd: the default data directory.
    expect(fromEtcd.dataDir).toBe('a.kv');
    expect(fromEtcd.warnings).toEqual([
      'unrecognized environment variable ETCD_UNKNOWN_THING=x',
      expect.stringMatching(/^--logger=zap /),
    ]);
    expect(() => config(['--name', 'b'], { ETCD_NAME: 'a' })).toThrow(
      '--name: conflicting environment variable "ETCD_NAME" is shadowed by corresponding command-line flag',
    );
    expect(flagAtFault(() => config([], { ETCD_BCRYPT_COST: '10' }))).toBe('bcrypt-cost');
    expect(flagAtFault(() => config([], { ETCD_ENABLE_V2: 'true' }))).toBe('enable-v2');
    expect(
      flagAtFault(() => config([], { ETCD_SNAPSHOT_COUNT: '5', KV_NODE_SNAPSHOT_COUNT: '6' })),
    ).toBe('snapshot-count');
    expect(
      config([], { ETCD_SNAPSHOT_COUNT: '5', KV_NODE_SNAPSHOT_COUNT: '5' }).snapshotCount,
    ).toBe(5);
    // etcdctl's variables are not etcd's.
    expect(config([], { ETCDCTL_API: '3', ETCDCTL_ENDPOINTS: 'x' }).warnings).toEqual([]);
    expect(config([], { ETCD_CONFIG_FILE: 'f' }, { f: 'snapshot-count: 4' }).snapshotCount).toBe(4);
  });

  it("accepts etcd's levels for --log-level", () => {
    for (const level of ['debug', 'info', 'warn', 'error', 'fatal'] as const) {
      expect(config(['--log-level', level]).logLevel).toBe(level);
    }
    expect(config(['--log-level', 'panic']).logLevel).toBe('fatal');
    expect(flagAtFault(() => config(['--log-level', 'critical']))).toBe('log-level');
  });

  it("loads a config file in the shape of etcd's etcd.conf.yml.sample, nested TLS sections included", () => {
    const sample = readFileSync(
      fileURLToPath(new URL('../../test/fixtures/etcd.conf.yml', import.meta.url)),
      'utf8',
    );
    const loaded = config(['--config-file', 'etcd.conf.yml'], {}, { 'etcd.conf.yml': sample });
    expect(loaded.name).toBe('infra1');
    expect(loaded.dataDir).toBe('infra1.kv');
    expect(loaded.snapshotCount).toBe(10000);
    expect(loaded.listenClientUrls.map(String)).toEqual(['http://127.0.0.1:12379/']);
    expect(loaded.members).toEqual([
      { name: 'infra1', id: loaded.memberId, peerUrls: ['http://127.0.0.1:12380'] },
    ]);
    expect(loaded.clusterToken).toBe('etcd-cluster');
    expect(loaded.logLevel).toBe('warn');
    expect(loaded.autoCompaction).toEqual({ mode: 'periodic', retentionMs: 3_600_000 });
    expect(loaded.warnings).toEqual([
      expect.stringMatching(/^--strict-reconfig-check=false .*membership/),
      expect.stringMatching(/^--enable-pprof=true /),
      expect.stringMatching(/^--logger=zap /),
    ]);
    expect(loaded.logOutput).toBe('stderr');
    const tls = config(
      ['--config-file', 'f'],
      {},
      {
        f: [
          'listen-client-urls: https://127.0.0.1:2379',
          'listen-peer-urls: https://127.0.0.1:2380',
          'client-transport-security:',
          '  cert-file: c.pem',
          '  key-file: k.pem',
          '  trusted-ca-file: ca.pem',
          '  client-cert-auth: true',
          'peer-transport-security:',
          '  cert-file: pc.pem',
          '  key-file: pk.pem',
          '  client-cert-auth: true',
        ].join('\n'),
      },
    );
    expect(tls.clientTls).toEqual({
      certFile: 'c.pem',
      keyFile: 'k.pem',
      trustedCaFile: 'ca.pem',
      clientCertAuth: true,
    });
    expect(tls.peerTls).toEqual({ certFile: 'pc.pem', keyFile: 'pk.pem' });
    expect(
      flagAtFault(() =>
        config(['--config-file', 'f'], {}, { f: 'client-transport-security:\n  cert-file: x' }),
      ),
    ).toBe('key-file');
    expect(
      flagAtFault(() =>
        config(['--config-file', 'f'], {}, { f: 'peer-transport-security:\n  colour: red' }),
      ),
    ).toBe('peer-transport-security.colour');
    expect(flagAtFault(() => config(['--config-file', 'f'], {}, { f: 'name: [a: b' }))).toBe(
      'config-file',
    );
    expect(flagAtFault(() => config(['--config-file', 'f'], {}, { f: '- a\n- b' }))).toBe(
      'config-file',
    );
  });

  it('parses --listen-metrics-urls and lets their hosts through the host allowlist', () => {
    const withMetrics = config([
      '--listen-metrics-urls',
      'http://127.0.0.1:2381,http://metrics.example:2382',
    ]);
    expect(withMetrics.listenMetricsUrls.map(String)).toEqual([
      'http://127.0.0.1:2381/',
      'http://metrics.example:2382/',
    ]);
    expect(withMetrics.allowedHosts).toContain('metrics.example:2382');
    expect(config([]).listenMetricsUrls).toEqual([]);
    expect(flagAtFault(() => config(['--listen-metrics-urls', 'https://127.0.0.1:2381']))).toBe(
      'listen-metrics-urls',
    );
  });

  it('reads --unsafe-local-linearizable-reads from flags, KV_NODE_* and the config file, off by default', () => {
    expect(config([]).unsafeLocalLinearizableReads).toBe(false);
    expect(config(['--unsafe-local-linearizable-reads']).unsafeLocalLinearizableReads).toBe(true);
    expect(config(['--unsafe-local-linearizable-reads=false']).unsafeLocalLinearizableReads).toBe(
      false,
    );
    expect(
      config([], { KV_NODE_UNSAFE_LOCAL_LINEARIZABLE_READS: 'true' }).unsafeLocalLinearizableReads,
    ).toBe(true);
    expect(
      config(['--config-file', 'f'], {}, { f: 'unsafe-local-linearizable-reads: true' })
        .unsafeLocalLinearizableReads,
    ).toBe(true);
    expect(
      flagAtFault(() => config([], { KV_NODE_UNSAFE_LOCAL_LINEARIZABLE_READS: 'maybe' })),
    ).toBe('unsafe-local-linearizable-reads');
    const help = helpText();
    expect(help).toContain('--unsafe-local-linearizable-reads');
    expect(help).toMatch(/Testing \(unsafe[^\n]*\n\s+--unsafe-local-linearizable-reads\n\s+UNSAFE/);
  });

  it('configures TLS for clients and peers from https:// URLs and files', () => {
    const tls = config([
      '--listen-client-urls',
      'https://127.0.0.1:2379',
      '--cert-file',
      'c.pem',
      '--key-file',
      'k.pem',
      '--trusted-ca-file',
      'ca.pem',
      '--client-cert-auth',
      '--listen-peer-urls',
      'https://127.0.0.1:2380',
      '--peer-cert-file',
      'pc.pem',
      '--peer-key-file',
      'pk.pem',
    ]);
    expect(tls.clientTls).toEqual({
      certFile: 'c.pem',
      keyFile: 'k.pem',
      trustedCaFile: 'ca.pem',
      clientCertAuth: true,
    });
    expect(tls.peerTls).toEqual({ certFile: 'pc.pem', keyFile: 'pk.pem' });
    expect(tls.members[0]?.peerUrls).toEqual(['https://127.0.0.1:2380']);
  });

  it("reads etcd's quota and auto-compaction flags", () => {
    expect(config([]).quotaBackendBytes).toBe(2 * 1024 ** 3);
    expect(config([]).autoCompaction).toBeUndefined();
    expect(config(['--quota-backend-bytes', '4096']).quotaBackendBytes).toBe(4096);
    expect(config(['--auto-compaction-retention', '2']).autoCompaction).toEqual({
      mode: 'periodic',
      retentionMs: 2 * 3_600_000,
    });
    expect(config(['--auto-compaction-retention', '1h30m']).autoCompaction).toEqual({
      mode: 'periodic',
      retentionMs: 90 * 60_000,
    });
    expect(
      config(['--auto-compaction-mode', 'revision', '--auto-compaction-retention', '1000'])
        .autoCompaction,
    ).toEqual({ mode: 'revision', retentionRevisions: 1000, checkIntervalMs: 300_000 });
    expect(() => config(['--auto-compaction-retention', '5 minutes'])).toThrow(ConfigError);
    expect(() =>
      config(['--auto-compaction-mode', 'revision', '--auto-compaction-retention', '1h']),
    ).toThrow(ConfigError);
  });
});
