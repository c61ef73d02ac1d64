import { majority } from './majority.js';
import { pickNewest } from './pick-newest.js';
import { quorumCall } from './quorum-call.js';
import type { NodeFailure, QuorumReport } from './quorum-report.js';
import type { ReplicaClient } from './replica-client.js';
import type { Timers } from './timers.js';
import type { Version, VersionComparator, Versioned } from './version.js';

/**
 * How a read repairs the replicas that returned an older value:
 * - `'sync'`: before returning, make sure the newest value is stored on a write quorum (writing
 *   it to every replica not known to hold it), so any later read quorum sees it; the read fails if
 *   that is impossible;
 * - `'async'`: return at once and write the newest value to the stale replicas in the background;
 * - `'none'`: do not repair.
 */
export type ReadRepairMode = 'sync' | 'async' | 'none';

/** How to run a {@link quorumRead}. */
export interface QuorumReadOptions<K, V, T = Version> {
  /** The replicas of the key. */
  readonly nodes: readonly string[];
  /** How to reach them. */
  readonly replicas: ReplicaClient<K, V, T>;
  /**
   * The order of the version type (default `compareVersions`, for {@link Version});
   * required in practice when `T` is another version type.
   */
  readonly compareVersions?: VersionComparator<T>;
  /** The key to read. */
  readonly key: K;
  /** How the read repairs stale replicas. */
  readonly readRepair: ReadRepairMode;
  /** R: replies to wait for; default the majority of `nodes`. Check with {@link validateQuorumSizes}. */
  readonly readQuorum?: number;
  /** W: replicas that must hold the newest value after a `'sync'` repair; default the majority. */
  readonly writeQuorum?: number;
  /** Time limit of each phase (read, then synchronous repair), in milliseconds. */
  readonly timeoutMs: number;
  /** Where time comes from. */
  readonly timers: Timers;
  /** Aborting it fails the read at once. */
  readonly signal?: AbortSignal;
}

/** What the read-repair writes achieved. */
export interface ReadRepairReport {
  /** Replicas the newest value was written to. */
  readonly repaired: readonly string[];
  /** Replicas the repair could not write to. */
  readonly failed: readonly NodeFailure[];
}

/** The outcome of a {@link quorumRead}. */
export interface QuorumReadResult<V, T = Version> {
  /** The newest value among the read quorum, or `undefined` if none of them holds the key. */
  readonly value: Versioned<V, T> | undefined;
  /** Which replicas answered the read what. */
  readonly report: QuorumReport<Versioned<V, T> | undefined>;
  /** Replicas of the read quorum that returned an older value or none. */
  readonly staleNodes: readonly string[];
  /**
   * Settles (never rejects) when every repair write has answered. With `'sync'` the value is
   * already on a write quorum when the read returns; this reports the remaining writes too.
   */
  readonly repair: Promise<ReadRepairReport>;
}

const nothingRepaired: ReadRepairReport = { repaired: [], failed: [] };

/**
 * Reads a key from a quorum of replicas, returns the newest value, and repairs stale replicas
 * (read repair).
 *
 * @throws QuorumFailedError (as a rejection) with operation `'read'` if the read quorum was not
 *   reached, or `'read repair'` if a `'sync'` repair could not store the value on a write quorum.
 * @throws QuorumConfigurationError (as a rejection) if a quorum size is out of range.
 */
export async function quorumRead<K, V, T = Version>(
  options: QuorumReadOptions<K, V, T>,
): Promise<QuorumReadResult<V, T>> {
  const { nodes, replicas, key, readRepair, timeoutMs, timers, signal } = options;
  const common = { timeoutMs, timers, ...(signal === undefined ? {} : { signal }) };
  const writeQuorum = options.writeQuorum ?? majority(nodes.length);
  const report = await quorumCall<Versioned<V, T> | undefined>({
    operation: 'read',
    nodes,
    call: (node) => replicas.read(node, key),
    ...(options.readQuorum === undefined ? {} : { quorum: options.readQuorum }),
    ...common,
  });
  const { newest, staleNodes, freshNodes } = pickNewest(report.accepted, options.compareVersions);
  const result = (repair: Promise<ReadRepairReport>): QuorumReadResult<V, T> => ({
    value: newest,
    report,
    staleNodes,
    repair,
  });
  if (newest === undefined || readRepair === 'none')
    return result(Promise.resolve(nothingRepaired));

  const writes: Promise<NodeFailure | string>[] = [];
  const repairWrite = (node: string): Promise<void> => {
    const write = replicas.write(node, key, newest);
    writes.push(
      write.then(
        () => node,
        (error: unknown) => ({ node, error }),
      ),
    );
    return write;
  };
  const repair = (): Promise<ReadRepairReport> => collect(writes);

  const stillNeeded = writeQuorum - freshNodes.length;
  if (readRepair === 'async' || stillNeeded <= 0) {
    for (const node of staleNodes) void repairWrite(node).catch(ignore);
    return result(repair());
  }
  // Synchronous repair: every replica not known to hold the newest value may help reach W.
  const fresh = new Set(freshNodes);
  // Repair writes still in flight when the quorum is reached go on, and are reported by `repair`.
  await quorumCall<void>({
    operation: 'read repair',
    nodes: nodes.filter((node) => !fresh.has(node)),
    call: repairWrite,
    quorum: stillNeeded,
    ...common,
  });
  return result(repair());
}

async function collect(
  writes: readonly Promise<NodeFailure | string>[],
): Promise<ReadRepairReport> {
  const outcomes = await Promise.all(writes);
  const repaired: string[] = [];
  const failed: NodeFailure[] = [];
  for (const outcome of outcomes) {
    if (typeof outcome === 'string') repaired.push(outcome);
    else failed.push(outcome);
  }
  return { repaired, failed };
}

function ignore(): void {
  // The failure is reported through QuorumReadResult.repair.
}
