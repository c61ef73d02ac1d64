/**
 * The identity every v3 response header carries (cluster, member, generation), read from the
 * backend's status at most once per event-loop turn.
 *
 * Why: building a full {@link ClusterStatus} (every member, their progress) per response cost ~4% of
 * a node's CPU under load, for three fields that change only on an election. Responses written in
 * the same turn share one reading; a generation that changes during that turn is reported from the
 * next turn on, as if those responses had been built a moment earlier.
 */

import type { HeaderSource } from './etcd-json.js';
import type { KvBackend, ClusterStatus } from './kv-backend.js';

const cached = new WeakMap<KvBackend, HeaderSource>();

function fromStatus(status: ClusterStatus): HeaderSource {
  return { clusterId: status.clusterId, memberId: status.memberId, generation: status.generation };
}

/** The header identity of `backend` now (cached until the end of this event-loop turn). */
export function responseHeaderSource(backend: KvBackend): HeaderSource {
  let source = cached.get(backend);
  if (source === undefined) {
    source = fromStatus(backend.status());
    cached.set(backend, source);
    setImmediate(() => cached.delete(backend));
  }
  return source;
}
