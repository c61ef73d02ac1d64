/**
 * A status source over a quorum-mode member's own view of the cluster (the body of its
 * `GET /v1/cluster`), for the dashboard a member serves at `/ui/` with `--replication quorum`.
 */

import type { ClusterStatusSource } from './cluster-status-source.js';
import type { NodeView } from './cluster-view.js';
import { leaderModeFieldsUnknown, parseQuorumReport } from './http-status-source.js';

/**
 * Adapts a quorum-mode member's status to the dashboard. No member leads, so every row's role is
 * `quorum`. The member itself is shown with its replica (keys, tombstones, state hash, repair
 * backlog); the others only with what this member knows of them: whether its failure detector
 * suspects them. Their replicas are unknown here (the launcher's dashboard asks every member).
 *
 * @param status returns the member's `/v1/cluster` body now; must not throw.
 */
export function statusSourceFromQuorumStatus(status: () => unknown): ClusterStatusSource {
  return {
    sample(): Promise<NodeView[]> {
      return Promise.resolve(quorumNodeViewsFromStatus(status()));
    },
  };
}

/**
 * The dashboard rows for one quorum-mode member's status; none when `body` is not such a status.
 */
export function quorumNodeViewsFromStatus(body: unknown): NodeView[] {
  const report = parseQuorumReport(body);
  if (report === undefined) return [];
  const members = (body as { members?: unknown }).members;
  const rows: NodeView[] = [];
  for (const member of Array.isArray(members) ? (members as unknown[]) : []) {
    if (typeof member !== 'object' || member === null) continue;
    const fields = member as Record<string, unknown>;
    const name = fields['name'];
    if (typeof name !== 'string') continue;
    const clientUrls = fields['client_urls'];
    const clientUrl =
      Array.isArray(clientUrls) && typeof clientUrls[0] === 'string' ? clientUrls[0] : null;
    const unknown = leaderModeFieldsUnknown(clientUrl);
    if (name === report.name) {
      rows.push({
        name,
        role: 'quorum',
        ...unknown,
        quorum: {
          keys: report.keys,
          tombstones: report.tombstones,
          stateHash: report.stateHash,
          repairBacklog: report.repairBacklog,
        },
        // Only the peers know whether they suspect this member.
        suspectedByPeers: null,
      });
    } else {
      rows.push({
        name,
        role: 'quorum',
        ...unknown,
        suspectedByPeers: report.suspects.get(name) ?? null,
      });
    }
  }
  return rows;
}
