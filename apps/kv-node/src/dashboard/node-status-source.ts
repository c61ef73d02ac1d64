/** A status source over one node's own view of the cluster (what `GET /v1/cluster` reports). */

import type { ClusterStatus } from '../http/kv-backend.js';
import type { ClusterStatusSource } from './cluster-status-source.js';
import type { NodeView } from './cluster-view.js';

/**
 * Adapts a node's status to the dashboard. The local node is shown in full; the other members
 * only with what this node knows of them: their role, and, when this node leads, their lag and
 * heartbeat age. Their generation and indexes show as unknown (`null`): only they know them.
 *
 * @param status returns the node's status now (e.g. `() => backend.status()`); must not throw.
 */
export function statusSourceFromClusterStatus(status: () => ClusterStatus): ClusterStatusSource {
  return {
    sample(): Promise<NodeView[]> {
      return Promise.resolve(nodeViewsFromStatus(status()));
    },
  };
}

/** The dashboard rows for one node's status (exported for tests and the HTTP source). */
export function nodeViewsFromStatus(status: ClusterStatus): NodeView[] {
  const leaderName = status.members.find((member) => member.id === status.leaderId)?.name;
  return status.members.map((member): NodeView => {
    const isSelf = member.id === status.memberId;
    const role = isSelf ? status.role : member.name === leaderName ? 'leader' : member.role;
    return {
      name: member.name,
      role,
      generation: isSelf ? status.generation : null,
      lastIndex: isSelf ? status.lastLogIndex : null,
      highWaterMark: isSelf ? status.highWaterMark : null,
      snapshotIndex: isSelf ? status.snapshotIndex : null,
      appliedIndex: isSelf ? status.appliedIndex : null,
      lagBehindLeader: member.lag ?? null,
      heartbeatAgeMs: member.lastContactAgoMs ?? null,
      // The leader's view of its followers; a follower's view of its leader is not this column.
      suspectedByLeader: status.role === 'leader' && !isSelf ? (member.suspected ?? null) : null,
      clientUrl: member.clientUrls[0] ?? null,
      ...(member.isLearner === true ? { learner: true as const } : {}),
    };
  });
}
