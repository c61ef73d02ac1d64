import { QuorumConfigurationError } from './quorum-configuration-error.js';

/**
 * The smallest number of servers that forms a majority of a cluster: `floor(n / 2) + 1`. Any two
 * majorities of the same cluster share at least one server, which is what prevents split brain.
 *
 * @param clusterSize - number of servers, at least 1.
 * @throws QuorumConfigurationError (`'invalid-cluster-size'`) unless `clusterSize` is a positive
 *   safe integer.
 */
export function majority(clusterSize: number): number {
  assertClusterSize(clusterSize);
  return Math.floor(clusterSize / 2) + 1;
}

/**
 * How many servers may fail (crash or be cut off) while a majority is still reachable:
 * `floor((n - 1) / 2)`. A cluster of 2f + 1 servers tolerates f failures; adding one server to an
 * odd-sized cluster tolerates no more.
 *
 * @param clusterSize - number of servers, at least 1.
 * @throws QuorumConfigurationError (`'invalid-cluster-size'`) unless `clusterSize` is a positive
 *   safe integer.
 */
export function toleratedFailures(clusterSize: number): number {
  return clusterSize - majority(clusterSize);
}

/** @internal Throws unless `clusterSize` is a positive safe integer. */
export function assertClusterSize(clusterSize: number): void {
  if (!Number.isSafeInteger(clusterSize) || clusterSize < 1) {
    throw new QuorumConfigurationError(
      'invalid-cluster-size',
      `cluster size must be a positive integer, got ${String(clusterSize)}`,
    );
  }
}
