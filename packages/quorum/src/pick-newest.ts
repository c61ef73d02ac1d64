import type { NodeResponse } from './quorum-report.js';
import { compareVersions } from './version.js';
import type { Version, VersionComparator, Versioned } from './version.js';

/** The outcome of {@link pickNewest}. */
export interface NewestValue<V, T = Version> {
  /** The value with the newest version, or `undefined` if no node holds one. */
  readonly newest: Versioned<V, T> | undefined;
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
 * @param compare - the order of the version type (default {@link compareVersions}, for
 *   {@link Version}); pass your own when `T` is another version type.
 */
export function pickNewest<V, T = Version>(
  replies: Iterable<NodeResponse<Versioned<V, T> | undefined>>,
  compare: VersionComparator<T> = compareVersions as unknown as VersionComparator<T>,
): NewestValue<V, T> {
  let newest: Versioned<V, T> | undefined;
  const all: NodeResponse<Versioned<V, T> | undefined>[] = [];
  for (const reply of replies) {
    all.push(reply);
    if (compare(reply.response?.version, newest?.version) > 0) newest = reply.response;
  }
  const staleNodes: string[] = [];
  const freshNodes: string[] = [];
  for (const { node, response } of all) {
    const isFresh = compare(response?.version, newest?.version) === 0;
    (isFresh ? freshNodes : staleNodes).push(node);
  }
  return { newest, staleNodes, freshNodes };
}
