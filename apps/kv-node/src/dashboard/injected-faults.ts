/** The faults injected from the page and not yet undone, as the page lists them. */

import type { DemoAction, InjectedFault } from './cluster-view.js';

/**
 * Tracks demo actions per node. A partition lives in the proxy, not in the process: it outlasts
 * a kill and a restart, and only `heal` ends it. So the process fault (killed, paused) and the
 * partition are kept apart, and a node shows its process fault first, then its partition again
 * once the process runs.
 */
export class InjectedFaults {
  readonly #processFaults = new Map<string, 'killed' | 'paused'>();
  readonly #partitioned = new Set<string>();

  /** Records a demo action that succeeded (`node` is ignored for `heal`). */
  record(action: DemoAction, node: string): void {
    switch (action) {
      case 'kill':
        this.#processFaults.set(node, 'killed');
        break;
      case 'pause':
        this.#processFaults.set(node, 'paused');
        break;
      case 'restart':
      case 'resume':
        this.#processFaults.delete(node);
        break;
      case 'partition':
        this.#partitioned.add(node);
        break;
      case 'heal':
        this.#partitioned.clear();
        break;
    }
  }

  /** One fault per node with any: its process fault, else `partitioned`. */
  current(): Record<string, InjectedFault> {
    const faults: Record<string, InjectedFault> = {};
    for (const node of this.#partitioned) faults[node] = 'partitioned';
    for (const [node, fault] of this.#processFaults) faults[node] = fault;
    return faults;
  }
}
