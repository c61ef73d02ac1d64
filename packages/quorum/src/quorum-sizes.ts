import { assertClusterSize } from './majority.js';
import { QuorumConfigurationError } from './quorum-configuration-error.js';

/** Read and write quorum sizes for leaderless replication over `clusterSize` replicas. */
export interface QuorumSizes {
  /** N: number of replicas of each value. */
  readonly clusterSize: number;
  /** R: replies a read waits for. */
  readonly readQuorum: number;
  /** W: acknowledgements a write waits for. */
  readonly writeQuorum: number;
}

/**
 * Checks that read and write quorums overlap as leaderless replication needs:
 * - `R + W > N`, so every read quorum includes at least one replica of the latest successful write;
 * - `W > N / 2`, so two successful writes always share a replica (their versions get ordered).
 *
 * @throws QuorumConfigurationError with problem `'invalid-cluster-size'`, `'invalid-quorum-size'`
 *   (a quorum outside 1..N), `'reads-may-miss-writes'` (R + W <= N) or `'writes-may-conflict'`
 *   (2W <= N).
 */
export function validateQuorumSizes(sizes: QuorumSizes): void {
  const { clusterSize, readQuorum, writeQuorum } = sizes;
  assertClusterSize(clusterSize);
  assertQuorumSize('read', readQuorum, clusterSize);
  assertQuorumSize('write', writeQuorum, clusterSize);
  if (readQuorum + writeQuorum <= clusterSize) {
    throw new QuorumConfigurationError(
      'reads-may-miss-writes',
      `read quorum ${readQuorum} + write quorum ${writeQuorum} must exceed the cluster size ` +
        `${clusterSize}, or a read may miss the latest write`,
    );
  }
  if (2 * writeQuorum <= clusterSize) {
    throw new QuorumConfigurationError(
      'writes-may-conflict',
      `write quorum ${writeQuorum} must be more than half of the cluster size ${clusterSize}, ` +
        `or two writes may succeed on disjoint replicas`,
    );
  }
}

/**
 * @internal Throws `'invalid-quorum-size'` unless `size` is an integer in 1..clusterSize.
 */
export function assertQuorumSize(what: string, size: number, clusterSize: number): void {
  if (!Number.isSafeInteger(size) || size < 1 || size > clusterSize) {
    throw new QuorumConfigurationError(
      'invalid-quorum-size',
      `${what} quorum must be an integer from 1 to ${clusterSize}, got ${String(size)}`,
    );
  }
}
