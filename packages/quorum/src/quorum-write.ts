import { quorumCall } from './quorum-call.js';
import type { QuorumReport } from './quorum-report.js';
import type { ReplicaClient } from './replica-client.js';
import type { Timers } from './timers.js';
import type { Version, Versioned } from './version.js';

/** How to run a {@link quorumWrite}. */
export interface QuorumWriteOptions<K, V, T = Version> {
  /** The replicas of the key. */
  readonly nodes: readonly string[];
  /** How to reach them. */
  readonly replicas: ReplicaClient<K, V, T>;
  /** The key to write. */
  readonly key: K;
  /** The value, with a version newer than any the writer has read (see {@link nextVersion}). */
  readonly value: Versioned<V, T>;
  /** W: acknowledgements needed; default the majority of `nodes`. Check with {@link validateQuorumSizes}. */
  readonly writeQuorum?: number;
  /** Fails the write with reason `'timeout'` after this many milliseconds. */
  readonly timeoutMs: number;
  /** Where time comes from. */
  readonly timers: Timers;
  /** Aborting it fails the write at once (the replicas it reached keep the value). */
  readonly signal?: AbortSignal;
}

/**
 * Writes a versioned value to every replica and resolves once `writeQuorum` have stored it.
 * Replicas that have not answered yet keep receiving the write.
 *
 * A failed write is not undone: the replicas that stored it keep it, and a later read may return it
 * (see the README).
 *
 * @returns which replicas acknowledged.
 * @throws QuorumFailedError (as a rejection; operation `'write'`) if the write quorum became
 *   impossible, time ran out or the signal was aborted.
 * @throws QuorumConfigurationError (as a rejection) if `writeQuorum` is out of range or `nodes`
 *   is empty.
 */
export function quorumWrite<K, V, T = Version>(
  options: QuorumWriteOptions<K, V, T>,
): Promise<QuorumReport<void>> {
  const { nodes, replicas, key, value, timeoutMs, timers } = options;
  return quorumCall<void>({
    operation: 'write',
    nodes,
    call: (node) => replicas.write(node, key, value),
    ...(options.writeQuorum === undefined ? {} : { quorum: options.writeQuorum }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    timeoutMs,
    timers,
  });
}
