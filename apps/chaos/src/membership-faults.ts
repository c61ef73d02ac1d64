/**
 * The steps of the membership faults on a running chaos cluster: a member replaced after its disk
 * died, and members removed and added back, all through the member API while the workloads run.
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
 * Adds node `index` back as a new learner with its own peer URLs, starts it with an empty data
 * directory and `--initial-cluster-state existing`, and promotes it once it has caught up.
 * @throws Error if a step is not accepted in time.
 */
export async function addAndPromote(cluster: KvCluster, index: number): Promise<void> {
  const node = cluster.nodes[index];
  if (node === undefined) throw new RangeError(`no node ${index}`);
  const endpoints = endpointsBesides(cluster, [index]);
  await changeMembership(
    endpoints,
    'add',
    { peerURLs: node.advertisedPeerUrls, isLearner: true },
    changeTimeoutMs,
  );
  cluster.wipeData(index);
  cluster.joinExisting(index);
  cluster.start(index);
  await promoteWhenCaughtUp(endpoints, node.advertisedPeerUrls[0] as string, changeTimeoutMs);
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
