/** Who led when: the leader changes the dashboard draws on its timeline. */

import type { LeaderChange, NodeView } from './cluster-view.js';

/**
 * The leader among `nodes`: of those reporting role `leader`, the one in the highest generation.
 * A paused old leader that wakes up still believes it leads until it hears the new generation;
 * the generation tells the true leader apart from that stale one.
 */
export function currentLeader(nodes: readonly NodeView[]): NodeView | undefined {
  let leader: NodeView | undefined;
  for (const node of nodes) {
    if (node.role !== 'leader') continue;
    if (leader === undefined || (node.generation ?? -1) > (leader.generation ?? -1)) leader = node;
  }
  return leader;
}

/** The highest generation any node reports, or `null` if none reports one. */
export function highestGeneration(nodes: readonly NodeView[]): number | null {
  let highest: number | null = null;
  for (const node of nodes) {
    if (node.generation !== null && (highest === null || node.generation > highest)) {
      highest = node.generation;
    }
  }
  return highest;
}

/** Records a {@link LeaderChange} whenever the leader differs from the last one recorded. */
export class LeaderTimeline {
  readonly #limit: number;
  readonly #changes: LeaderChange[] = [];

  /** @param limit the most changes kept; older ones are dropped (default 50). */
  constructor(limit = 50) {
    this.#limit = limit;
  }

  /**
   * Takes one sample of the cluster; returns the change it records, if any.
   *
   * @param atMs wall-clock time of the sample, ms since the Unix epoch.
   */
  observe(atMs: number, nodes: readonly NodeView[]): LeaderChange | undefined {
    const leader = currentLeader(nodes)?.name ?? null;
    const last = this.#changes.at(-1);
    if (last !== undefined && last.leader === leader) return undefined;
    const change: LeaderChange = { atMs, leader, generation: highestGeneration(nodes) };
    this.#changes.push(change);
    if (this.#changes.length > this.#limit) this.#changes.shift();
    return change;
  }

  /** The recorded changes, oldest first (a copy). */
  changes(): LeaderChange[] {
    return [...this.#changes];
  }
}
