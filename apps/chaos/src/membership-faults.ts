/**
 * The steps of the membership faults on a running chaos cluster: a member replaced after its disk
 * died, and members removed and added back, all through the member API while the workloads run.
 *
 * A node added back keeps its name, ports and peer URLs: `member add` gives it a fresh member id
 * (the removed one stays retired), and the joining node learns that id and the cluster id from
 * the members over the peer port, so neither a new address nor `--initial-cluster-id` is needed.
 */

import type { KvCluster } from './kv-cluster.js';
import { changeMembership, listMembers, promoteWhenCaughtUp } from './member-changes.js';

/** How long one change (a removal, an addition, a promotion) may take before the fault fails. */
const changeTimeoutMs = 30_000;

/** Client URLs of the running members other than `except`, where changes are sent. */
function endpointsBesides(cluster: KvCluster, except: readonly number[]): string[] {
  return cluster.nodes
    .filter((node) => !except.includes(node.index) && cluster.isRunning(node.index))
    .map((node) => node.clientUrl);
}

/**
 * Removes node `index` from the cluster (as listed by name); resolves once the removal was
 * accepted. Nothing to do if it is not listed.
 */
export async function removeMember(cluster: KvCluster, index: number): Promise<void> {
  const node = cluster.nodes[index];
  if (node === undefined) throw new RangeError(`no node ${index}`);
  const endpoints = endpointsBesides(cluster, [index]);
  const listed = (await listMembers(endpoints)).find((member) => member.name === node.name);
  if (listed === undefined) return;
  await changeMembership(endpoints, 'remove', { ID: listed.id }, changeTimeoutMs);
}

/**
 * The joining node's `--initial-cluster`: its spec's entries (in its own dialing order, so it
 * dials each peer through its own proxy link), less the members the cluster no longer lists.
 */
function initialClusterFor(
  cluster: KvCluster,
  index: number,
  listed: readonly { name: string }[],
): string {
  const node = cluster.nodes[index]!;
  return node.initialCluster
    .split(',')
    .filter((entry) => {
      const name = entry.slice(0, entry.indexOf('='));
      return name === node.name || listed.some((member) => member.name === name);
    })
    .join(',');
}

/**
 * Adds node `index` as a new learner under its peer URLs (those of a removed member may be added
 * again: the new member gets a fresh id), starts it with an empty data directory and
 * `--initial-cluster-state existing`, and promotes it once it has caught up.
 * @throws Error if a step is not accepted in time.
 */
export async function addAndPromote(cluster: KvCluster, index: number): Promise<void> {
  const node = cluster.nodes[index];
  if (node === undefined) throw new RangeError(`no node ${index}`);
  const endpoints = endpointsBesides(cluster, [index]);
  const urls = node.advertisedPeerUrls;
  await changeMembership(endpoints, 'add', { peerURLs: urls, isLearner: true }, changeTimeoutMs);
  const listed = await listMembers(endpoints);
  cluster.rejoin(index, initialClusterFor(cluster, index, listed));
  cluster.wipeData(index);
  cluster.joinExisting(index);
  cluster.start(index);
  await promoteWhenCaughtUp(endpoints, urls[0] as string, changeTimeoutMs);
}

/**
 * Removes a running member, waits until it stops by itself (a removed member exits), and wipes
 * its data. One that still runs after `stopTimeoutMs` is killed and reported.
 * @returns a notice when the member had to be killed.
 */
export async function removeRunningMember(
  cluster: KvCluster,
  index: number,
  stopTimeoutMs = 10_000,
): Promise<string | undefined> {
  cluster.expectExit(index);
  await removeMember(cluster, index);
  const stopped = await cluster.waitForExit(index, stopTimeoutMs);
  let notice: string | undefined;
  if (!stopped) {
    notice = `${cluster.nodes[index]?.name} still ran ${stopTimeoutMs} ms after its removal`;
    await cluster.kill(index);
  }
  cluster.wipeData(index);
  return notice;
}
