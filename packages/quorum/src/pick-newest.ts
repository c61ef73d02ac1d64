import type { NodeResponse } from './quorum-report.js';
import { compareVersions } from './version.js';
import type { Versioned } from './version.js';

/** The outcome of {@link pickNewest}. */
export interface NewestValue<V> {
  /** The value with the newest version, or `undefined` if no node holds one. */
  readonly newest: Versioned<V> | undefined;
  /** Nodes whose value is older than the newest (or missing): candidates for read repair. */
  readonly staleNodes: readonly string[];
  /** Nodes that already hold the newest version. */
  readonly freshNodes: readonly string[];
}

/**
 * Picks the newest value among read replies, and says which nodes are stale.
 *
 * @param replies - each node's stored value (`undefined` when it has none), for example the
 *   accepted responses of a read quorum.
 */
export function pickNewest<V>(
  replies: Iterable<NodeResponse<Versioned<V> | undefined>>,
): NewestValue<V> {
  let newest: Versioned<V> | undefined;
  const all: NodeResponse<Versioned<V> | undefined>[] = [];
  for (const reply of replies) {
    all.push(reply);
    if (compareVersions(reply.response?.version, newest?.version) > 0) newest = reply.response;
  }
  const staleNodes: string[] = [];
  const freshNodes: string[] = [];
  for (const { node, response } of all) {
    const isFresh = compareVersions(response?.version, newest?.version) === 0;
    (isFresh ? freshNodes : staleNodes).push(node);
  }
  return { newest, staleNodes, freshNodes };
}
