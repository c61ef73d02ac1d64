/**
 * Every command-line flag of `kv-node`, with etcd's names where they mean the same thing. The same
 * table drives flag parsing, `ETCD_*` and `KV_NODE_*` environment variables, config files and
 * `--help`.
 */

/** How a flag's text value is read. */
export type FlagKind = 'string' | 'integer' | 'boolean' | 'urls' | 'enum';

/** One flag. */
export interface FlagSpec {
  /** Name without the leading dashes, as etcd spells it. */
  name: string;
  kind: FlagKind;
  /** Default as text ('' for none); `{name}` is replaced by the value of --name. */
  defaultValue: string;
  description: string;
  /** Allowed values of an enum flag. */
  values?: readonly string[];
  /** Help section. */
  section: 'member' | 'clustering' | 'security' | 'limits' | 'logging' | 'testing';
}

/** The flags, in help order. */
export const FLAG_SPECS: readonly FlagSpec[] = [
  {
    name: 'name',
    kind: 'string',
    defaultValue: 'default',
    section: 'member',
    description: 'Human-readable name of this member; must appear in --initial-cluster.',
  },
  {
    name: 'data-dir',
    kind: 'string',
    defaultValue: '{name}.kv',
    section: 'member',
    description: 'Directory of the write-ahead log, generation and snapshots.',
  },
  {
    name: 'listen-client-urls',
    kind: 'urls',
    defaultValue: 'http://127.0.0.1:2379',
    section: 'member',
    description: 'URLs to serve the client HTTP API on (comma-separated).',
  },
  {
    name: 'listen-metrics-urls',
    kind: 'urls',
    defaultValue: '',
    section: 'member',
    description:
      'More URLs that serve only /metrics and /health (comma-separated; https:// uses the client TLS files).',
  },
  {
    name: 'listen-peer-urls',
    kind: 'urls',
    defaultValue: 'http://127.0.0.1:2380',
    section: 'member',
    description: 'URL to listen for peers on (http:// plain TCP, https:// TLS).',
  },
  {
    name: 'heartbeat-interval',
    kind: 'integer',
    defaultValue: '100',
    section: 'member',
    description: 'Milliseconds between leader heartbeats.',
  },
  {
    name: 'election-timeout',
    kind: 'integer',
    defaultValue: '1000',
    section: 'member',
    description:
      'Milliseconds without a heartbeat before a follower starts an election (randomized up to 2x).',
  },
  {
    name: 'failure-detector',
    kind: 'enum',
    defaultValue: 'fixed',
    values: ['fixed', 'phi'],
    section: 'member',
    description:
      "How a silent leader or follower is suspected: 'fixed' (the election timeout) or 'phi' (phi-accrual over measured heartbeat intervals).",
  },
  {
    name: 'snapshot-count',
    kind: 'integer',
    defaultValue: '100000',
    section: 'member',
    description: 'Applied entries between snapshots (after which older log segments are deleted).',
  },
  {
    name: 'snapshot-log-bytes',
    kind: 'integer',
    defaultValue: '1073741824',
    section: 'member',
    description:
      'Also snapshot once the entries applied since the last snapshot hold this many command bytes, so large txns cannot grow the log a restart reads past it (0: --snapshot-count only).',
  },
  {
    name: 'backend',
    kind: 'enum',
    defaultValue: 'memory',
    values: ['memory', 'lmdb'],
    section: 'member',
    description:
      "Where the key-value state lives: 'memory' (the heap, rebuilt from the snapshot and the log on restart) or 'lmdb' (an LMDB file in the data directory, committed with the applied index; restart replays only the log after it).",
  },
  {
    name: 'replication',
    kind: 'enum',
    defaultValue: 'leader',
    values: ['leader', 'quorum'],
    section: 'clustering',
    description:
      "'leader' (leader-follower log, linearizable, etcd's API) or 'quorum' (leaderless: any member " +
      'coordinates, per-request consistency one, quorum or linearizable). Every member must agree.',
  },
  {
    name: 'read-quorum',
    kind: 'integer',
    defaultValue: '0',
    section: 'clustering',
    description: 'Quorum mode: members a quorum read waits for (0: a majority).',
  },
  {
    name: 'write-quorum',
    kind: 'integer',
    defaultValue: '0',
    section: 'clustering',
    description: 'Quorum mode: members a quorum write waits for (0: a majority).',
  },
  {
    name: 'max-clock-offset',
    kind: 'integer',
    defaultValue: '500',
    section: 'clustering',
    description:
      'Quorum mode: milliseconds a peer timestamp may be ahead of this wall clock; further is refused.',
  },
  {
    name: 'anti-entropy-interval',
    kind: 'integer',
    defaultValue: '1000',
    section: 'clustering',
    description:
      'Quorum mode: milliseconds between anti-entropy rounds (digest exchange with one peer); 0: off.',
  },
  {
    name: 'advertise-client-urls',
    kind: 'urls',
    defaultValue: '',
    section: 'clustering',
    description: 'Client URLs to tell other members and clients (default: --listen-client-urls).',
  },
  {
    name: 'initial-advertise-peer-urls',
    kind: 'urls',
    defaultValue: '',
    section: 'clustering',
    description: 'Peer URL of this member as others reach it (default: --listen-peer-urls).',
  },
  {
    name: 'initial-cluster',
    kind: 'string',
    defaultValue: '',
    section: 'clustering',
    description:
      'Initial members, name=peerURL,... (default: {name}=<initial-advertise-peer-urls>).',
  },
  {
    name: 'initial-cluster-token',
    kind: 'string',
    defaultValue: 'kv-cluster',
    section: 'clustering',
    description: 'Cluster token: distinguishes clusters and seeds the cluster id.',
  },
  {
    name: 'initial-cluster-state',
    kind: 'enum',
    defaultValue: 'new',
    values: ['new', 'existing'],
    section: 'clustering',
    description:
      "'new' to form a cluster, 'existing' to restart a member or join one after `member add` (an empty data dir then learns the cluster from the members).",
  },
  {
    name: 'initial-cluster-id',
    kind: 'string',
    defaultValue: '',
    section: 'clustering',
    description:
      'Optional check when joining a running cluster (--initial-cluster-state existing, empty data dir): the cluster id `member add` printed (hex); the member refuses to start if the members answer for another.',
  },
  {
    name: 'peer-secret-file',
    kind: 'string',
    defaultValue: '',
    section: 'security',
    description: 'File holding the shared secret that authenticates peer connections.',
  },
  {
    name: 'cert-file',
    kind: 'string',
    defaultValue: '',
    section: 'security',
    description: 'TLS certificate of the client port (then serve https).',
  },
  {
    name: 'key-file',
    kind: 'string',
    defaultValue: '',
    section: 'security',
    description: 'TLS key of the client port.',
  },
  {
    name: 'trusted-ca-file',
    kind: 'string',
    defaultValue: '',
    section: 'security',
    description: 'CA for client certificates (with --client-cert-auth).',
  },
  {
    name: 'client-cert-auth',
    kind: 'boolean',
    defaultValue: 'false',
    section: 'security',
    description: 'Require client certificates signed by --trusted-ca-file.',
  },
  {
    name: 'host-whitelist',
    kind: 'string',
    defaultValue: '',
    section: 'security',
    description:
      "Host names the client port answers (comma-separated; '*' for any, etcd's default). Default: loopback names and the hosts of this member's client URLs; other Host headers get 403 (against DNS rebinding).",
  },
  {
    name: 'auth-token',
    kind: 'enum',
    defaultValue: 'simple',
    values: ['simple'],
    section: 'security',
    description:
      "Auth token type: 'simple' (opaque tokens signed with a key in the replicated auth state, " +
      'valid on every member; JWT is not supported).',
  },
  {
    name: 'auth-token-ttl',
    kind: 'integer',
    defaultValue: '300',
    section: 'security',
    description: 'Seconds an auth token stays valid after it was issued.',
  },
  {
    name: 'auth-scrypt-cost',
    kind: 'integer',
    defaultValue: '14',
    section: 'security',
    description:
      'log2 N of the scrypt password hash (4-17; memory 8 KiB x 2^N per hash: 16 MiB at 14). ' +
      "kv-node's counterpart of etcd's --bcrypt-cost.",
  },
  {
    name: 'peer-cert-file',
    kind: 'string',
    defaultValue: '',
    section: 'security',
    description: 'TLS certificate for https:// peer URLs.',
  },
  {
    name: 'peer-key-file',
    kind: 'string',
    defaultValue: '',
    section: 'security',
    description: 'TLS key for https:// peer URLs.',
  },
  {
    name: 'peer-trusted-ca-file',
    kind: 'string',
    defaultValue: '',
    section: 'security',
    description: 'CA that signs peer certificates.',
  },
  {
    name: 'max-request-bytes',
    kind: 'integer',
    defaultValue: '1572864',
    section: 'limits',
    description: 'Largest client request body in bytes.',
  },
  {
    name: 'max-txn-ops',
    kind: 'integer',
    defaultValue: '128',
    section: 'limits',
    description:
      "Operation budget of a txn, counted as etcd does (a level's longest list plus its nested txns').",
  },
  {
    name: 'max-txn-read-keys',
    kind: 'integer',
    defaultValue: '10000',
    section: 'limits',
    description: 'Most keys the ranges and range compares of one write txn may visit.',
  },
  {
    name: 'max-txn-read-bytes',
    kind: 'integer',
    defaultValue: '4194304',
    section: 'limits',
    description: 'Most key and value bytes the ranges of one write txn may return.',
  },
  {
    name: 'max-pending-proposals',
    kind: 'integer',
    defaultValue: '65536',
    section: 'limits',
    description:
      'Most writes the leader holds waiting to be applied; past it writes get 429 (etcdserver: too many requests) with Retry-After.',
  },
  {
    name: 'max-uncommitted-bytes',
    kind: 'integer',
    defaultValue: '268435456',
    section: 'limits',
    description:
      "Most bytes of writes the leader has proposed and not yet committed (etcd's MaxUncommittedEntriesSize); past it writes get 429.",
  },
  {
    name: 'max-range-response-bytes',
    kind: 'integer',
    defaultValue: '67108864',
    section: 'limits',
    description:
      'Most bytes of a range response whose request set a limit: the rest is left out and the response says "more". Ranges without a limit are streamed whole.',
  },
  {
    name: 'max-key-bytes',
    kind: 'integer',
    defaultValue: '1536',
    section: 'limits',
    description: 'Longest key in bytes.',
  },
  {
    name: 'max-value-bytes',
    kind: 'integer',
    defaultValue: '1048576',
    section: 'limits',
    description: 'Longest value in bytes.',
  },
  {
    name: 'request-timeout',
    kind: 'integer',
    defaultValue: '10000',
    section: 'limits',
    description:
      'Milliseconds to receive a whole request before answering 408 (not a started watch stream).',
  },
  {
    name: 'quota-backend-bytes',
    kind: 'integer',
    defaultValue: '0',
    section: 'limits',
    description:
      "Accounted store size in bytes (current values and uncompacted history) past which writes that add data raise the NOSPACE alarm and are refused; 0: etcd's default of 2 GiB.",
  },
  {
    name: 'auto-compaction-mode',
    kind: 'enum',
    defaultValue: 'periodic',
    values: ['periodic', 'revision'],
    section: 'limits',
    description:
      "How --auto-compaction-retention is read: 'periodic' (a duration: keep that much time of history) or 'revision' (keep that many revisions).",
  },
  {
    name: 'auto-compaction-retention',
    kind: 'string',
    defaultValue: '0',
    section: 'limits',
    description:
      "History the leader keeps when it compacts on its own: hours or a duration ('30m', '90s') in periodic mode, a revision count in revision mode; 0 turns automatic compaction off.",
  },
  {
    name: 'auto-compaction-check-interval',
    kind: 'integer',
    defaultValue: '300000',
    section: 'limits',
    description:
      "Milliseconds between the leader's checks in revision mode (etcd's fixed five minutes).",
  },
  {
    name: 'experimental-watch-progress-notify-interval',
    kind: 'string',
    defaultValue: '10m',
    section: 'limits',
    description:
      'How often a watch that asked for progress_notify and has nothing to report is told the current revision (a duration).',
  },
  {
    name: 'log-level',
    kind: 'enum',
    defaultValue: 'info',
    values: ['debug', 'info', 'warn', 'error', 'panic', 'fatal'],
    section: 'logging',
    description: "Least severe level logged (etcd's levels; panic logs as fatal).",
  },
  {
    name: 'log-outputs',
    kind: 'enum',
    defaultValue: 'default',
    values: ['default', 'stderr', 'stdout'],
    section: 'logging',
    description:
      "Where logs go, as etcd's flag: 'stderr' or 'default' (standard error), or 'stdout'.",
  },
  {
    name: 'log-format',
    kind: 'enum',
    defaultValue: 'json',
    values: ['json', 'text'],
    section: 'logging',
    description: "'json' (one pino object per line) or 'text' (human-readable).",
  },
  {
    name: 'unsafe-local-linearizable-reads',
    kind: 'boolean',
    defaultValue: 'false',
    section: 'testing',
    description:
      'UNSAFE, for testing a linearizability checker only: the leader serves linearizable reads ' +
      'without confirming its leadership with a quorum, so reads may be stale after a leader change.',
  },
  {
    name: 'config-file',
    kind: 'string',
    defaultValue: '',
    section: 'member',
    description:
      "YAML (etcd's nested shape, as etcd.conf.yml) or JSON file of flag: value pairs (flags and env override it).",
  },
];

/**
 * etcd flags that kv-node deliberately does not implement and that change behaviour whatever their
 * value; rejected with a message rather than silently ignored, so an etcd configuration never
 * half-applies. (Flags accepted without effect are in `inert-etcd-settings.ts`.)
 */
export const UNSUPPORTED_ETCD_FLAGS: readonly string[] = [
  'bcrypt-cost',
  'experimental-enable-v2v3',
  'experimental-corrupt-check-time',
  'experimental-initial-corrupt-check',
  'experimental-enable-lease-checkpoint',
  'experimental-compaction-batch-limit',
  'experimental-backend-bbolt-freelist-type',
  'experimental-enable-distributed-tracing',
  'experimental-peer-skip-client-san-verification',
  'ca-file',
  'peer-ca-file',
];

/** The environment variable prefixes: etcd's, then kv-node's own. */
export type EnvPrefix = 'ETCD' | 'KV_NODE';

/**
 * The environment variable of a flag, as etcd's `flags.FlagToEnv` names it: the prefix, `_`, and
 * the flag in upper case with `-` as `_` (`--initial-cluster` is `ETCD_INITIAL_CLUSTER`).
 */
export function envNameOf(flag: string, prefix: EnvPrefix = 'KV_NODE'): string {
  return `${prefix}_${flag.toUpperCase().replace(/-/g, '_')}`;
}
