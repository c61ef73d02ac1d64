/**
 * The node's data directory: locked for the life of the process, and stamped with the cluster
 * and member it belongs to, so that a directory from another cluster is refused instead of
 * silently mixed in.
 *
 * Layout: `member.json` (this identity), `generation` (generation and vote), `snapshot` (the
 * latest snapshot; `snapshot.incoming` while one is received from the leader) and
 * `log-<firstIndex>/` (the write-ahead log's segments), the last three written by
 * `@x/leader-follower`'s node.
 */

import { access, mkdir, open, readFile, rename } from 'node:fs/promises';
import { NodeFileSystem } from '@x/wal';

/** Who a data directory belongs to. */
export interface DataDirectoryIdentity {
  clusterId: string;
  memberId: string;
  name: string;
  /**
   * The member's id in `@x/leader-follower` and on the peer transport: its name for a member of
   * the initial cluster (absent in files written before membership changes), its member id in
   * hexadecimal for one that joined after `member add` (the cluster knows it by its peer URLs,
   * not by a name).
   */
  replicationId?: string;
}

/** How this process may use the data directory it opened. */
export interface DataDirectoryPlan {
  /** `--initial-cluster-state`. */
  clusterState: 'new' | 'existing';
  /**
   * `--initial-cluster-id`: with `existing` and an empty directory, the cluster it must join
   * (checked against what the members answer); with data, the cluster the data must belong to.
   */
  joinClusterId: string | undefined;
  /**
   * Learns from the running members, for an empty directory with `existing`, the cluster id and
   * the id `member add` gave this member (see join-cluster.ts). Without it (quorum mode, whose
   * members are fixed) joining needs `--initial-cluster-id` and this member's computed id.
   * @throws an Error whose message tells the operator what to do
   */
  learnCluster?: () => Promise<{ clusterId: string; memberId: string; replicationId: string }>;
}

/**
 * The anchor of the operations guide's runbook that replaces a member: remove it, then add a
 * new member with a new data directory.
 */
export const REPLACE_MEMBER_RUNBOOK = 'docs/guides/operations.md#replace-a-member';

/** Why a data directory cannot be used; the message says what to do. */
export class DataDirectoryError extends Error {
  /** @param message what is wrong and what to do. */
  constructor(message: string) {
    super(message);
    this.name = 'DataDirectoryError';
  }
}

/** A data directory this process has locked. */
export interface OpenDataDirectory {
  path: string;
  /** Whether it held no identity before (a brand-new member). */
  fresh: boolean;
  /** Whether this is a new member joining a running cluster (empty directory, `existing`). */
  joining: boolean;
  /** The identity it holds (the cluster id a joined member was given, its replication id). */
  identity: Required<DataDirectoryIdentity>;
  release(): Promise<void>;
}

const IDENTITY_FILE = 'member.json';
/** Directories of the layout before kv-node ran `@x/leader-follower`'s node (`wal/`, `snap/`). */
const OLD_LAYOUT_DIRECTORIES = ['wal', 'snap'];

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

async function writeDurably(directory: string, name: string, text: string): Promise<void> {
  const temporary = `${directory}/${name}.tmp`;
  const handle = await open(temporary, 'w');
  try {
    await handle.writeFile(text);
    await handle.datasync();
  } finally {
    await handle.close();
  }
  await rename(temporary, `${directory}/${name}`);
  const directoryHandle = await open(directory, 'r');
  try {
    await directoryHandle.sync();
  } finally {
    await directoryHandle.close();
  }
}

/**
 * Creates (if needed), locks and checks the data directory.
 *
 * @throws DataDirectoryError when another process holds it, or it belongs to another cluster or
 *   member, or `existing` cluster state is asked for without data.
 */
export async function openDataDirectory(
  path: string,
  identity: DataDirectoryIdentity,
  plan: DataDirectoryPlan,
): Promise<OpenDataDirectory> {
  const { clusterState, joinClusterId, learnCluster } = plan;
  await mkdir(path, { recursive: true });
  const fileSystem = new NodeFileSystem();
  let lock: { release(): Promise<void> };
  try {
    lock = await fileSystem.lockDirectory(path);
  } catch (error) {
    throw new DataDirectoryError(
      `data directory ${path} is locked by another process (${(error as Error).message}); ` +
        'is another kv-node running with this --data-dir?',
    );
  }
  try {
    let stored: DataDirectoryIdentity | undefined;
    try {
      stored = JSON.parse(
        await readFile(`${path}/${IDENTITY_FILE}`, 'utf8'),
      ) as DataDirectoryIdentity;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new DataDirectoryError(
          `data directory ${path} has an unreadable ${IDENTITY_FILE}: ${(error as Error).message}`,
        );
      }
    }
    if (stored === undefined) {
      const joining = clusterState === 'existing';
      const created: Required<DataDirectoryIdentity> = joining
        ? await joinedIdentity(path, identity, joinClusterId, learnCluster)
        : { ...identity, replicationId: identity.name };
      await writeDurably(path, IDENTITY_FILE, `${JSON.stringify(created, null, 2)}\n`);
      return { path, fresh: true, joining, identity: created, release: () => lock.release() };
    }
    // A member that joined keeps the cluster id it was given: --initial-cluster lists today's
    // members, from which the cluster's id cannot be computed.
    const expectedClusterId =
      clusterState === 'existing' ? (joinClusterId ?? stored.clusterId) : identity.clusterId;
    if (stored.clusterId !== expectedClusterId) {
      throw new DataDirectoryError(
        `data directory ${path} belongs to cluster ${stored.clusterId}, not ${expectedClusterId} ` +
          '(check --initial-cluster and --initial-cluster-token, or use another --data-dir)',
      );
    }
    // A member that joined after `member add` has the id the cluster gave it, which no flag
    // tells (its replication id is that id in hexadecimal, not its name).
    const joinedEarlier =
      stored.replicationId !== undefined && stored.replicationId !== stored.name;
    if (
      (!joinedEarlier && stored.memberId !== identity.memberId) ||
      stored.name !== identity.name
    ) {
      throw new DataDirectoryError(
        `data directory ${path} belongs to member ${stored.name} (${stored.memberId}), ` +
          `not ${identity.name} (${identity.memberId})`,
      );
    }
    for (const name of OLD_LAYOUT_DIRECTORIES) {
      if (await exists(`${path}/${name}`)) {
        throw new DataDirectoryError(
          `data directory ${path} has ${name}/ from an older kv-node data layout, which this ` +
            'version cannot read; start the member with an empty --data-dir',
        );
      }
    }
    return {
      path,
      fresh: false,
      joining: false,
      identity: { ...stored, replicationId: stored.replicationId ?? stored.name },
      release: () => lock.release(),
    };
  } catch (error) {
    await lock.release();
    throw error;
  }
}

/** The identity of a member joining a running cluster with an empty data directory. */
async function joinedIdentity(
  path: string,
  identity: DataDirectoryIdentity,
  joinClusterId: string | undefined,
  learnCluster: DataDirectoryPlan['learnCluster'],
): Promise<Required<DataDirectoryIdentity>> {
  if (learnCluster === undefined) {
    if (joinClusterId === undefined) {
      throw new DataDirectoryError(
        `--initial-cluster-state existing with an empty data directory (${path}) joins a ` +
          'running cluster: add this member first (`etcdctl member add` or POST ' +
          '/v3/cluster/member/add) and pass the cluster id it prints as --initial-cluster-id; ' +
          `to bring back a member that lost its data, see ${REPLACE_MEMBER_RUNBOOK}`,
      );
    }
    return {
      clusterId: joinClusterId,
      memberId: identity.memberId,
      name: identity.name,
      replicationId: BigInt(identity.memberId).toString(16),
    };
  }
  let learned: Awaited<ReturnType<NonNullable<DataDirectoryPlan['learnCluster']>>>;
  try {
    learned = await learnCluster();
  } catch (error) {
    throw new DataDirectoryError(
      `--initial-cluster-state existing with an empty data directory (${path}): ` +
        `${(error as Error).message}; to bring back a member that lost its data, see ` +
        REPLACE_MEMBER_RUNBOOK,
    );
  }
  if (joinClusterId !== undefined && joinClusterId !== learned.clusterId) {
    throw new DataDirectoryError(
      `--initial-cluster-id ${BigInt(joinClusterId).toString(16)} does not match the cluster ` +
        `the members of --initial-cluster belong to (${BigInt(learned.clusterId).toString(16)}): ` +
        'drop the flag, or point --initial-cluster at the cluster you meant',
    );
  }
  return {
    clusterId: learned.clusterId,
    memberId: learned.memberId,
    name: identity.name,
    replicationId: learned.replicationId,
  };
}
