import type { ReplicaClient } from '../src/replica-client.js';
import { newer } from '../src/version.js';
import type { Versioned } from '../src/version.js';
import type { ManualTimers } from './manual-timers.js';

/** An error with a Node-style code, as a real client would reject with. */
function networkError(code: string, node: string): Error {
  return Object.assign(new Error(`${code}: ${node}`), { code });
}

/**
 * A small in-memory replica network on virtual time: each replica stores versioned values and
 * keeps the newer one on every write. Faults: a crashed node refuses connections, a cut link
 * loses requests silently (the caller times out), a failing disk refuses writes.
 */
export class ReplicaNetwork<V> implements ReplicaClient<string, V> {
  readonly crashed = new Set<string>();
  readonly cutLinks = new Set<string>();
  readonly failingDisks = new Set<string>();
  readonly #stores = new Map<string, Map<string, Versioned<V>>>();
  readonly #latencyMs = new Map<string, number>();

  constructor(
    private readonly timers: ManualTimers,
    readonly nodes: readonly string[],
  ) {
    for (const node of nodes) {
      this.#stores.set(node, new Map());
      this.#latencyMs.set(node, 1);
    }
  }

  /** Sets the one-way delay to a node (requests and replies take this long each). */
  setLatency(node: string, ms: number): void {
    this.#latencyMs.set(node, ms);
  }

  valueAt(node: string, key: string): Versioned<V> | undefined {
    return this.#store(node).get(key);
  }

  read(node: string, key: string): Promise<Versioned<V> | undefined> {
    return this.#request(node, () => this.#store(node).get(key));
  }

  write(node: string, key: string, value: Versioned<V>): Promise<void> {
    return this.#request(node, () => {
      if (this.failingDisks.has(node)) throw networkError('EIO', node);
      const store = this.#store(node);
      const kept = newer(store.get(key), value);
      if (kept !== undefined) store.set(key, kept);
    });
  }

  #request<T>(node: string, handle: () => T): Promise<T> {
    const latency = this.#latencyMs.get(node) ?? 1;
    return new Promise<T>((resolve, reject) => {
      if (this.cutLinks.has(node)) return; // lost: never answered
      this.timers.setTimeout(() => {
        if (this.cutLinks.has(node)) return;
        if (this.crashed.has(node)) {
          this.timers.setTimeout(() => reject(networkError('ECONNREFUSED', node)), latency);
          return;
        }
        let outcome: { value: T } | { error: Error };
        try {
          outcome = { value: handle() };
        } catch (error) {
          outcome = { error: error as Error };
        }
        this.timers.setTimeout(() => {
          if (this.cutLinks.has(node)) return;
          if ('value' in outcome) resolve(outcome.value);
          else reject(outcome.error);
        }, latency);
      }, latency);
    });
  }

  #store(node: string): Map<string, Versioned<V>> {
    const store = this.#stores.get(node);
    if (store === undefined) throw new Error(`no replica ${node}`);
    return store;
  }
}
