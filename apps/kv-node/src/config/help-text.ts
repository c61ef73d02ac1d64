import { FLAG_SPECS, envNameOf } from './flag-spec.js';

const SECTION_TITLES = {
  member: 'Member',
  clustering: 'Clustering',
  security: 'Security',
  limits: 'Limits',
  logging: 'Logging',
  testing: 'Testing (unsafe: never in production)',
} as const;

/** The `--help` text: usage, every flag with its default and environment variable, examples. */
export function helpText(): string {
  const lines = [
    'Usage:',
    '  kv-node [flags]                 run one member of a replicated key-value cluster',
    '  kv-node cluster --nodes 3       run a local cluster of N members under ./.kv-data/',
    '  kv-node cluster add | remove <name> | replace <name>',
    '                                  change the members of the running local cluster',
    '  kv-node snapshot restore <file> [flags]',
    "                                  a new member's --data-dir from `etcdctl snapshot save`'s file",
    '  kv-node --help | --version',
    '',
    "Flags use etcd's names and meanings. Each can also be set with an environment variable",
    "(shown; ETCD_* as etcd reads them, or KV_NODE_*) or in a --config-file (etcd's YAML);",
    'flags override the environment, which overrides the file. As in etcd, an ETCD_* variable',
    'for a flag also given on the command line is an error. etcd flags that have no use in',
    'kv-node but do no harm (--logger, --enable-v2=false, --pre-vote,',
    '--max-snapshots, --max-wals, ...) are accepted with a warning.',
  ];
  for (const [section, title] of Object.entries(SECTION_TITLES)) {
    lines.push('', `${title}:`);
    for (const spec of FLAG_SPECS.filter((candidate) => candidate.section === section)) {
      const value = spec.kind === 'boolean' ? '' : ` <${spec.values?.join('|') ?? spec.kind}>`;
      lines.push(`  --${spec.name}${value}`);
      lines.push(`      ${spec.description}`);
      const defaultText = spec.defaultValue === '' ? '' : `default ${spec.defaultValue}; `;
      lines.push(
        `      (${defaultText}env ${envNameOf(spec.name, 'ETCD')} or ${envNameOf(spec.name)})`,
      );
    }
  }
  lines.push(
    '',
    'Local cluster (kv-node cluster):',
    '  --nodes <n>           members to start (default 3)',
    '  --base-port <port>    first client port (default 2379); member i uses base+10i and base+10i+1',
    "  --data-dir <dir>      parent of the members' data directories (default ./.kv-data)",
    "  --dashboard-host-whitelist <hosts>  Host names the dashboard answers (comma-separated, '*'",
    '                        for any; default loopback names only: against DNS rebinding)',
    '  --replication <leader|quorum>  every member with this --replication (default leader)',
    '  While it runs, from another terminal (same --base-port; with client auth on, --token <admin token>):',
    '  kv-node cluster add               add a member: a learner that catches up, then promoted',
    '  kv-node cluster remove node-2     remove a member; it stops and its data is deleted',
    '  kv-node cluster replace node-2    remove it, delete its data, add a fresh member',
    '',
    'Example: three members on one machine',
    '  kv-node --name a --data-dir a.kv --listen-client-urls http://127.0.0.1:2379 \\',
    '    --listen-peer-urls http://127.0.0.1:2380 \\',
    '    --initial-cluster a=http://127.0.0.1:2380,b=http://127.0.0.1:2390,c=http://127.0.0.1:2400 \\',
    '    --peer-secret-file peer-secret   # the same random file for b and c',
    '  (create it once: head -c 32 /dev/urandom | base64 > peer-secret && chmod 600 peer-secret)',
    '',
    'Example: a fourth member joins (membership: POST /v3/cluster/member/{list,add,remove,update,promote},',
    'or etcdctl member ...)',
    '  etcdctl member add d --learner --peer-urls http://127.0.0.1:2410',
    '  kv-node --name d --data-dir d.kv --listen-client-urls http://127.0.0.1:2409 \\',
    '    --listen-peer-urls http://127.0.0.1:2410 --peer-secret-file peer-secret \\',
    '    --initial-cluster a=http://127.0.0.1:2380,b=http://127.0.0.1:2390,c=http://127.0.0.1:2400,d=http://127.0.0.1:2410 \\',
    '    --initial-cluster-state existing   # learns the cluster id and its member id from a, b, c',
    '  etcdctl member promote <member id>   # once it has caught up',
    '',
  );
  return lines.join('\n');
}
