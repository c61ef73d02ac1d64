/** The members, ports and flags of a local cluster (`kv-node cluster`), computed without I/O. */

/** One member of a local cluster. */
export interface LocalMemberPlan {
  name: string;
  clientUrl: string;
  /**
   * The peer URL the member is known by (in `--initial-cluster`, so its member id): the
   * launcher's proxy listens here and forwards to {@link LocalMemberPlan.listenPeerUrl}.
   */
  peerUrl: string;
  /** Where the member really listens for its peers (only the proxy dials it). */
  listenPeerUrl: string;
  dataDir: string;
  /** Flags to start the member with. */
  args: string[];
}

/** Options of {@link planLocalCluster}. */
export interface LocalClusterPlanOptions {
  nodes: number;
  /**
   * Client port of the first member; member i (0-based) uses base + 10i (client), +1 (its peer
   * URL, where the proxy listens) and +2 (where the member listens for the proxy).
   */
  basePort: number;
  /** Parent directory of the members' data directories. */
  dataDir: string;
  /** Extra flags passed to every member. */
  extraArgs?: readonly string[];
}

/**
 * Where a local cluster keeps its random peer secret: in its data directory, beside the members'
 * directories (see `cluster-secret.ts`).
 */
export function localClusterSecretFile(dataDir: string): string {
  return `${dataDir.replace(/\/+$/, '')}/peer-secret`;
}

/** The `--initial-cluster-token` of every local cluster (part of each member id's hash). */
export const LOCAL_CLUSTER_TOKEN = 'kv-local';

/**
 * Most members a local cluster has at once (slots `node-1` … `node-9`). An added member takes
 * the lowest slot no member holds, so a removed or replaced member's name and ports are used
 * again (its peer URL may be added again: `member add` gives a fresh member id). Nine keeps one
 * member's name from containing another's, which the peer proxy relies on.
 */
export const MAX_LOCAL_MEMBER_SLOTS = 9;

/** A member without its flags. */
export type LocalMemberSlot = Omit<LocalMemberPlan, 'args'>;

/** The slot (0-based) a member of a local cluster holds, from its name (`node-3`: 2). */
export function localMemberSlotIndex(name: string): number {
  const match = /^node-([1-9][0-9]*)$/.exec(name);
  return match === null ? -1 : Number(match[1]) - 1;
}

/** The name, URLs and data directory of slot `index` (0-based) of a local cluster. */
export function localMemberSlot(index: number, basePort: number, dataDir: string): LocalMemberSlot {
  return {
    name: `node-${index + 1}`,
    clientUrl: `http://127.0.0.1:${basePort + 10 * index}`,
    peerUrl: `http://127.0.0.1:${basePort + 10 * index + 1}`,
    listenPeerUrl: `http://127.0.0.1:${basePort + 10 * index + 2}`,
    dataDir: `${dataDir.replace(/\/+$/, '')}/node-${index + 1}`,
  };
}

/** Options of {@link localMemberArgs}. */
export interface LocalMemberArgsOptions {
  /** `--initial-cluster`: `name=peerURL,...`, this member included. */
  initialCluster: string;
  /** Parent directory of the members' data directories (where the peer secret is). */
  dataDir: string;
  /**
   * A member added to a running cluster: it starts with `--initial-cluster-state existing` and
   * learns its member id and the cluster id from the members of `initialCluster`.
   */
  joining?: boolean;
  extraArgs?: readonly string[];
}

/** The flags to start a member of a local cluster with. */
export function localMemberArgs(
  member: LocalMemberSlot,
  options: LocalMemberArgsOptions,
): string[] {
  return [
    '--name',
    member.name,
    '--data-dir',
    member.dataDir,
    '--listen-client-urls',
    member.clientUrl,
    '--listen-peer-urls',
    member.listenPeerUrl,
    // Advertised as before the proxy existed: member ids (hashed from peer URLs), the peer
    // URLs /v1/cluster shows and existing data directories stay the same.
    '--initial-advertise-peer-urls',
    member.peerUrl,
    '--initial-cluster',
    options.initialCluster,
    ...(options.joining === true ? ['--initial-cluster-state', 'existing'] : []),
    '--initial-cluster-token',
    LOCAL_CLUSTER_TOKEN,
    '--peer-secret-file',
    localClusterSecretFile(options.dataDir),
    ...(options.extraArgs ?? []),
  ];
}

/** Member names, URLs, data directories and flags for a local cluster on 127.0.0.1. */
export function planLocalCluster(options: LocalClusterPlanOptions): LocalMemberPlan[] {
  const members = Array.from({ length: options.nodes }, (_, index) =>
    localMemberSlot(index, options.basePort, options.dataDir),
  );
  const initialCluster = members.map((member) => `${member.name}=${member.peerUrl}`).join(',');
  return members.map((member) => ({
    ...member,
    args: localMemberArgs(member, {
      initialCluster,
      dataDir: options.dataDir,
      ...(options.extraArgs === undefined ? {} : { extraArgs: options.extraArgs }),
    }),
  }));
}

/**
 * The text printed once a local cluster is up: URLs, the leader and any learner (a member added
 * and not yet promoted: it does not vote), example commands.
 */
export function clusterBanner(
  members: readonly LocalMemberPlan[],
  leaderName: string | undefined,
  dataDir: string,
  dashboardUrl: string,
  learners: ReadonlySet<string> = new Set(),
): string {
  const first = members[0];
  const second = members[1] ?? first;
  const lines = [
    '',
    `kv-node local cluster: ${members.length} member${members.length === 1 ? '' : 's'}, data under ${dataDir}`,
    ...members.map(
      (member) =>
        `  ${member.name.padEnd(8)} ${member.clientUrl}${member.name === leaderName ? '   (leader)' : ''}` +
        (learners.has(member.name) ? '   (learner: no vote until promoted)' : ''),
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
      `Dashboard: ${dashboardUrl}  (kill, pause, partition, restart members from the page)`,
      'Members: kv-node cluster add | remove <name> | replace <name>  (or from the dashboard)',
      'Ctrl-C stops every member. Nothing is restarted automatically.',
      '',
    );
  }
  return lines.join('\n');
}
