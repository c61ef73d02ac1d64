import type { EtcdJsonClient } from './etcd-json-client.js';
import { nodeForWorker } from './register-workload.js';
import { isDefiniteFailure } from './kv-request-error.js';
import type { OperationSample } from './operation-sample.js';

/** Options of {@link runSetWorkload}. */
export interface SetWorkloadOptions {
  /** One client per node; worker `i` talks to node `i % clients.length`. */
  readonly clients: readonly EtcdJsonClient[];
  /**
   * The nodes to talk to now, as indexes into `clients` (default: every client): the members of
   * a cluster whose membership changes. Read before each operation, so workers follow the
   * members added and leave those removed.
   */
  readonly nodes?: () => readonly number[];
  readonly workers: number;
  /** Prefix of every key (default `s/`). */
  readonly keyPrefix?: string;
  /** Pause after a failed operation, in milliseconds (default 50). */
  readonly backoffMs?: number;
  readonly now: () => number;
  readonly stopping: () => boolean;
  readonly onSample?: (sample: OperationSample) => void;
}

/** Which keys the set workload added, by what it was told. */
export interface SetWorkloadResult {
  /** Puts acknowledged: every node must hold these keys after the heal. */
  readonly acknowledged: readonly string[];
  /** Puts that definitely failed: no node may ever hold these keys. */
  readonly failed: readonly string[];
  /** Puts with an unknown outcome: either is fine. */
  readonly indeterminate: readonly string[];
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Jepsen's set workload: every operation puts a new unique key, so after the heal the final reads
 * from every node must include each acknowledged key (no acknowledged write lost) and none whose
 * put definitely failed.
 */
export async function runSetWorkload(options: SetWorkloadOptions): Promise<SetWorkloadResult> {
  const prefix = options.keyPrefix ?? 's/';
  const acknowledged: string[] = [];
  const failed: string[] = [];
  const indeterminate: string[] = [];
  let next = 0;
  const worker = async (index: number): Promise<void> => {
    while (!options.stopping()) {
      const { node, client } = nodeForWorker(options.clients, options.nodes, index);
      const key = `${prefix}${String(next++).padStart(8, '0')}`;
      const invokedAtMs = options.now();
      let outcome: OperationSample['outcome'];
      try {
        await client.put(key, key);
        acknowledged.push(key);
        outcome = 'ok';
      } catch (error) {
        outcome = isDefiniteFailure(error) ? 'fail' : 'info';
        (outcome === 'fail' ? failed : indeterminate).push(key);
      }
      options.onSample?.({
        node,
        kind: 'write',
        invokedAtMs,
        completedAtMs: options.now(),
        outcome,
      });
      if (outcome !== 'ok') await sleep(options.backoffMs ?? 50);
    }
  };
  await Promise.all(Array.from({ length: options.workers }, (_, index) => worker(index)));
  return { acknowledged, failed, indeterminate };
}
