/**
 * The steps of the membership faults on a running chaos cluster: a member replaced after its disk
 * died, and members removed and added back, all through the member API while the workloads run.
 *
 * A member added back is advertised under another name of the loopback address (`127.0.0.1`,
 * then `localhost`, then `[::ffff:7f00:1]`; its ports, and so the proxy's links, stay), so each
 * node can be added back twice in a run. kv-node once needed that (a member id derived from the
 * peer URLs alone, and a removed id is never reused); `member add` now gives a fresh id, so the
 * same URLs would do too, but the faults keep exercising a member that moved host name.
 */

import type { KvCluster } from './kv-cluster.js';
import {
  changeMembership,
  listMembers,
  MemberChangeRefused,
  promoteWhenCaughtUp,
} from './member-changes.js';

/** How long one change (a removal, an addition, a promotion) may take before the fault fails. */
const changeTimeoutMs = 30_000;

/** Names of the loopback address a node is advertised under, one per incarnation. */
const loopbackNames = ['127.0.0.1', 'localhost', '[::ffff:7f00:1]'];

/** Client URLs of the running members other than `except`, where changes are sent. */
function endpointsBesides(cluster: KvCluster, except: readonly number[]): string[] {
  return cluster.nodes
    .filter((node) => !except.includes(node.index) && cluster.isRunning(node.index))
    .map((node) => node.clientUrl);
}

function withHost(url: string, host: string): string {
  const changed = new URL(url);
  changed.hostname = host;
  return changed.origin;
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
 * dials each peer through its own proxy link), each URL moved to the loopback name the cluster
 * now lists that member under; members no longer listed are left out.
 */
function initialClusterFor(
  cluster: KvCluster,
  index: number,
  listed: readonly { name: string; peerUrls: readonly string[] }[],
  ownUrls: readonly string[],
): string {
  const node = cluster.nodes[index]!;
  return node.initialCluster
    .split(',')
    .flatMap((entry) => {
      const separator = entry.indexOf('=');
      const name = entry.slice(0, separator);
      const url = entry.slice(separator + 1);
      if (name === node.name) {
        const position = node.advertisedPeerUrls.indexOf(url);
        return [`${name}=${ownUrls[position] ?? url}`];
      }
      const member = listed.find((candidate) => candidate.name === name);
      if (member === undefined) return [];
      const host = new URL(member.peerUrls[0] ?? url).hostname;
      return [`${name}=${withHost(url, host)}`];
    })
    .join(',');
}

/**
 * Adds node `index` as a new learner under peer URLs never used by a removed member, starts it
 * with an empty data directory and `--initial-cluster-state existing`, and promotes it once it
 * has caught up. A node added back (`fresh` false) takes the next loopback name; a spare node that
 * was never a member (`fresh` true) is added under the URLs it has.
 * @throws Error if a step is not accepted in time, or the node has no unused loopback name left.
 */
export async function addAndPromote(
  cluster: KvCluster,
  index: number,
  options: { fresh?: boolean } = {},
): Promise<void> {
  const node = cluster.nodes[index];
  if (node === undefined) throw new RangeError(`no node ${index}`);
  const endpoints = endpointsBesides(cluster, [index]);
  const current = new URL(cluster.advertisedPeerUrlsOf(index)[0] as string).hostname;
  const untried = loopbackNames.slice(
    loopbackNames.indexOf(current) + (options.fresh === true ? 0 : 1),
  );
  for (const host of untried) {
    const urls = node.advertisedPeerUrls.map((url) => withHost(url, host));
    let added: Record<string, unknown>;
    try {
      added = await changeMembership(
        endpoints,
        'add',
        { peerURLs: urls, isLearner: true },
        changeTimeoutMs,
      );
    } catch (error) {
      // etcd's own answer when the URLs are taken, kv-node's when they belonged to a removed member.
      if (error instanceof MemberChangeRefused && /ID removed|already exist/.test(error.message)) {
        continue;
      }
      throw error;
    }
    const listed = await listMembers(endpoints);
    // The cluster id is checked, not needed: the joining node learns it (and its member id)
    // from the members over the peer port.
    const header = (added.header ?? {}) as { cluster_id?: string };
    const clusterId = BigInt(header.cluster_id ?? 0).toString(16);
    cluster.reidentify(index, urls, initialClusterFor(cluster, index, listed, urls), [
      '--initial-cluster-id',
      clusterId,
    ]);
    cluster.wipeData(index);
    cluster.joinExisting(index);
    cluster.start(index);
    await promoteWhenCaughtUp(endpoints, urls[0] as string, changeTimeoutMs);
    return;
  }
  throw new Error(`${node.name} has no unused loopback name left to be added back under`);
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
