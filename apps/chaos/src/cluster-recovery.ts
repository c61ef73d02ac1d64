import type { ClusterView } from './etcd-json-client.js';

/**
 * The longest a follower may have been silent, as the leader sees it, for the cluster to count
 * as whole: ten heartbeats at the default interval, well inside the 1 s election timeout.
 */
export const followerContactLimitMs = 1000;

/**
 * Whether a cluster has recovered from a fault: every node answered (`undefined`: a node that is
 * down, paused or did not answer), all name the same leader, that leader says it leads, and it
 * has heard from every follower within {@link followerContactLimitMs} (when it reports contact
 * times at all). A restarted node passes only once it serves clients and has heard from the
 * leader, which is what the next fault should find.
 */
export function isClusterWhole(views: readonly (ClusterView | undefined)[]): boolean {
  const leaderId = views[0]?.leaderId;
  if (leaderId === undefined) return false;
  if (views.some((view) => view === undefined || view.leaderId !== leaderId)) return false;
  const leader = views.find((view) => view?.memberId === leaderId);
  if (leader?.role !== 'leader') return false;
  return leader.members.every(
    (member) =>
      member.id === leaderId ||
      member.lastContactAgoMs === undefined ||
      member.lastContactAgoMs <= followerContactLimitMs,
  );
}

/**
 * Whether a quorum-mode cluster (`--replication quorum`, no leader) has recovered from a fault:
 * every node answered, runs quorum mode, and sees every other member as reachable (agreed on the
 * settings and not suspected by its failure detector), so a quorum call waits on nobody.
 */
export function isQuorumClusterWhole(views: readonly (ClusterView | undefined)[]): boolean {
  return views.every(
    (view) =>
      view !== undefined &&
      view.replication === 'quorum' &&
      view.members.length === views.length &&
      view.members.every((member) => member.reachable === true),
  );
}
