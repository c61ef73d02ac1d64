/** Where the dashboard reads the cluster's state from. */

import type { NodeView } from './cluster-view.js';

/**
 * Reads the state of every node in the cluster, once per call. Implementations: one node's own
 * view ({@link statusSourceFromClusterStatus}), or each member's `GET /v1/cluster` over HTTP
 * ({@link HttpClusterStatusSource}).
 *
 * `sample` should not reject: a node that cannot be read is reported with role `unreachable`.
 * A rejection is treated as "the whole cluster is unreachable" for that sample.
 */
export interface ClusterStatusSource {
  /** The current state of every node, in a stable order. */
  sample(): Promise<NodeView[]>;
}
