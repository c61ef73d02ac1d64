/** The members, ports and flags of a local cluster (`kv-node cluster`), computed without I/O. */

/** One member of a local cluster. */
export interface LocalMemberPlan {
  name: string;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
  /** Flags to start the member with. */
  args: string[];
}

/** Options of {@link planLocalCluster}. */
export interface LocalClusterPlanOptions {
  nodes: number;
  /** Client port of the first member; member i (0-based) uses base + 10i (client) and +1 (peer). */
  basePort: number;
  /** Parent directory of the members' data directories. */
  dataDir: string;
  /** Extra flags passed to every member. */
  extraArgs?: readonly string[];
}

/** Member names, URLs, data directories and flags for a local cluster on 127.0.0.1. */
export function planLocalCluster(options: LocalClusterPlanOptions): LocalMemberPlan[] {
  const members = Array.from({ length: options.nodes }, (_, index) => ({
    name: `node-${index + 1}`,
    clientUrl: `http://127.0.0.1:${options.basePort + 10 * index}`,
    peerUrl: `http://127.0.0.1:${options.basePort + 10 * index + 1}`,
    dataDir: `${options.dataDir.replace(/\/+$/, '')}/node-${index + 1}`,
  }));
  const initialCluster = members.map((member) => `${member.name}=${member.peerUrl}`).join(',');
  return members.map((member) => ({
    ...member,
    args: [
      '--name',
      member.name,
      '--data-dir',
      member.dataDir,
      '--listen-client-urls',
      member.clientUrl,
      '--listen-peer-urls',
      member.peerUrl,
      '--initial-cluster',
      initialCluster,
      '--initial-cluster-token',
      'kv-local',
      ...(options.extraArgs ?? []),
    ],
  }));
}

/** The text printed once a local cluster is up: URLs, the leader, example commands. */
export function clusterBanner(
  members: readonly LocalMemberPlan[],
  leaderName: string | undefined,
  dataDir: string,
  dashboardUrl: string,
): string {
  const first = members[0];
  const second = members[1] ?? first;
  const lines = [
    '',
    `kv-node local cluster: ${members.length} member${members.length === 1 ? '' : 's'}, data under ${dataDir}`,
    ...members.map(
      (member) =>
        `  ${member.name.padEnd(8)} ${member.clientUrl}${member.name === leaderName ? '   (leader)' : ''}`,
    ),
  ];
  if (first !== undefined && second !== undefined) {
    lines.push(
      '',
      'Try:',
      `  curl -X PUT --data-binary 'world' ${first.clientUrl}/v1/kv/hello`,
      `  curl ${second.clientUrl}/v1/kv/hello`,
      `  curl ${first.clientUrl}/v1/kv?prefix=he`,
      `  curl -X POST ${second.clientUrl}/v3/kv/range -d '{"key":"aGVsbG8="}'`,
      `  curl ${first.clientUrl}/v1/cluster`,
      '',
      `Dashboard: ${dashboardUrl}  (kill, pause, restart members from the page)`,
      'Ctrl-C stops every member. Nothing is restarted automatically.',
      '',
    );
  }
  return lines.join('\n');
}
