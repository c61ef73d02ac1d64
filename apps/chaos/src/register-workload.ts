import type { HistoryRecorder, PendingOperation } from '@x/linearizability';
import type { EtcdJsonClient } from './etcd-json-client.js';
import { isDefiniteFailure } from './kv-request-error.js';
import type { OperationSample } from './operation-sample.js';
import type { SeededRandom } from './seeded-random.js';
import type { RegisterWrite } from './watch-check.js';

/** Options of {@link runRegisterWorkload}. */
export interface RegisterWorkloadOptions {
  /** One client per node; client `i` of the workload talks to node `i % clients.length`. */
  readonly clients: readonly EtcdJsonClient[];
  /**
   * The nodes to talk to now, as indexes into `clients` (default: every client): the members of
   * a cluster whose membership changes. Read before each operation, so workers follow the
   * members added and leave those removed.
   */
  readonly nodes?: () => readonly number[];
  readonly recorder: HistoryRecorder;
  readonly random: SeededRandom;
  /** Concurrent workers (history processes at any moment). */
  readonly workers: number;
  /** Workers sharing one key at a time (at most 6, to keep the checker's search small). */
  readonly workersPerKey: number;
  /** Operations on a key before its workers move to a fresh one (default 200). */
  readonly operationsPerKey?: number;
  /** Prefix of every key (default `r/`). */
  readonly keyPrefix?: string;
  /** Pause after a failed operation before the next, in milliseconds (default 50). */
  readonly backoffMs?: number;
  /** Monotonic milliseconds since the workload started. */
  readonly now: () => number;
  /** True once the workload should finish its current operations and stop. */
  readonly stopping: () => boolean;
  readonly onSample?: (sample: OperationSample) => void;
  /**
   * Every write and compare-and-set once it has an outcome, with the revision an acknowledged
   * one created (a compare-and-set whose comparison failed is a `fail`: nothing was written).
   */
  readonly onWrite?: (write: RegisterWrite) => void;
  /**
   * Deliberately unsafe, to show the checker bites: reads are sent as serializable (served from
   * the receiving node's local state, possibly stale) but recorded as linearizable reads.
   */
  readonly unsafeSerializableReads?: boolean;
  /**
   * Whether workers also compare-and-set (default true). kv-node's quorum mode has no
   * compare-and-swap (txn answers 501): its register is read and write only.
   */
  readonly compareAndSet?: boolean;
}

/** What a register workload did, for the final reads and reports. */
export interface RegisterWorkloadResult {
  /** Every key used, in order of first use. */
  readonly keys: readonly string[];
  readonly operations: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Jepsen's linearizable register, one register per key: workers read (range), write (put) and
 * compare-and-set (txn comparing the value) small integers, each written value unique, and record
 * every call in the history. Keys rotate every `operationsPerKey` operations of a key group, so
 * each key's history stays small enough to check. A worker whose operation ends `info` carries
 * on as a new history process (its old process may still have an operation in flight).
 */
export async function runRegisterWorkload(
  options: RegisterWorkloadOptions,
): Promise<RegisterWorkloadResult> {
  const perKey = Math.min(6, Math.max(1, options.workersPerKey));
  const operationsPerKey = options.operationsPerKey ?? 200;
  const prefix = options.keyPrefix ?? 'r/';
  const groups = Math.ceil(options.workers / perKey);
  const groupOperations = new Array<number>(groups).fill(0);
  const keys: string[] = [];
  const keyOf = (group: number): string => {
    const key = `${prefix}${group}/${Math.floor((groupOperations[group] ?? 0) / operationsPerKey)}`;
    if (!keys.includes(key)) keys.push(key);
    return key;
  };
  /** Values each key is known to have held, for plausible compare-and-set expectations. */
  const recentValues = new Map<string, number[]>();
  const remember = (key: string, value: number): void => {
    const values = recentValues.get(key) ?? [];
    values.push(value);
    if (values.length > 4) values.shift();
    recentValues.set(key, values);
  };
  let nextValue = 1;
  let operations = 0;

  const worker = async (index: number): Promise<void> => {
    const group = index % groups;
    let process = index;
    while (!options.stopping()) {
      const { node, client } = nodeForWorker(options.clients, options.nodes, index);
      const key = keyOf(group);
      groupOperations[group] = (groupOperations[group] ?? 0) + 1;
      operations++;
      const dice = options.random.next();
      const known = recentValues.get(key) ?? [];
      const invokedAtMs = options.now();
      let outcome: OperationSample['outcome'];
      let kind: OperationSample['kind'] = 'write';
      if (dice < 0.5) {
        kind = 'read';
        const pending = options.recorder.invoke(process, { op: 'read', key });
        outcome = await settle(pending, async () => {
          const kvs = await client.range(key, {
            serializable: options.unsafeSerializableReads === true,
          });
          const value = kvs[0] === undefined ? null : Number(kvs[0].value);
          if (value !== null) remember(key, value);
          return value;
        });
      } else if (dice < 0.8 || known.length === 0 || options.compareAndSet === false) {
        const value = nextValue++;
        const pending = options.recorder.invoke(process, { op: 'write', key, value });
        let revision = 0;
        outcome = await settle(pending, async () => {
          revision = await client.put(key, String(value));
          remember(key, value);
          return undefined;
        });
        options.onWrite?.({ key, value, outcome, ...(outcome === 'ok' ? { revision } : {}) });
      } else {
        const expected = options.random.pick(known);
        const replacement = nextValue++;
        const pending = options.recorder.invoke(process, {
          op: 'cas',
          key,
          value: [expected, replacement],
        });
        // Set inside the call: the revision written, or false when the comparison failed.
        const answer: { revision?: number | false } = {};
        outcome = await settle(pending, async () => {
          answer.revision = await client.compareAndSet(key, String(expected), String(replacement));
          if (answer.revision === false) return conditionFailed;
          remember(key, replacement);
          return undefined;
        });
        const written = answer.revision;
        options.onWrite?.(
          outcome !== 'ok'
            ? { key, value: replacement, outcome }
            : written === false || written === undefined
              ? { key, value: replacement, outcome: 'fail' }
              : { key, value: replacement, outcome: 'ok', revision: written },
        );
      }
      options.onSample?.({
        node,
        kind,
        invokedAtMs,
        completedAtMs: options.now(),
        outcome,
      });
      if (outcome === 'info') process += options.workers;
      if (outcome !== 'ok') await sleep(options.backoffMs ?? 50);
    }
  };
  await Promise.all(Array.from({ length: options.workers }, (_, index) => worker(index)));
  return { keys, operations };
}

/** Marks a compare-and-set whose comparison failed: definitely not applied, but not an error. */
const conditionFailed = Symbol('condition failed');

async function settle(
  pending: PendingOperation,
  call: () => Promise<number | null | undefined | typeof conditionFailed>,
): Promise<OperationSample['outcome']> {
  try {
    const result = await call();
    if (result === conditionFailed) {
      pending.fail();
      return 'ok';
    }
    if (result === undefined) pending.ok();
    else pending.ok(result);
    return 'ok';
  } catch (error) {
    if (isDefiniteFailure(error)) {
      pending.fail();
      return 'fail';
    }
    pending.info();
    return 'info';
  }
}

/**
 * The node worker `index` talks to now and its client: the `index`-th of the current nodes
 * (round robin), every client's node when `nodes` is not given or lists none.
 */
export function nodeForWorker(
  clients: readonly EtcdJsonClient[],
  nodes: (() => readonly number[]) | undefined,
  index: number,
): { node: number; client: EtcdJsonClient } {
  const current = nodes?.() ?? [];
  const node =
    current.length === 0 ? index % clients.length : (current[index % current.length] as number);
  return { node, client: clients[node] as EtcdJsonClient };
}
