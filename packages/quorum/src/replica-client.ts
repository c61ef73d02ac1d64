import type { Version, Versioned } from './version.js';

/**
 * How the leaderless helpers reach the replicas of a key: the narrow port a user implements over
 * their transport. Time limits are applied by the caller ({@link quorumRead}, {@link quorumWrite}).
 *
 * @typeParam K - the key type.
 * @typeParam V - the value type.
 * @typeParam T - the version type (default {@link Version}).
 */
export interface ReplicaClient<K, V, T = Version> {
  /** Reads the replica's value of `key` (`undefined` if it has none). Rejects if unreachable. */
  read(node: string, key: K): Promise<Versioned<V, T> | undefined>;
  /**
   * Stores `value` on the replica unless it already holds a newer version (see {@link newer});
   * resolves once stored durably. Rejects if unreachable or the store fails.
   */
  write(node: string, key: K, value: Versioned<V, T>): Promise<void>;
}
