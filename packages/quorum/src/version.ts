/**
 * Orders the writes of one key. Versions are compared by `counter`, then by `writer` (so two
 * writers that picked the same counter still get a total order, and every replica picks the same
 * winner).
 */
export interface Version {
  /** Grows with each write: a writer reads the newest version first and takes one more. */
  readonly counter: number;
  /** Id of the client or node that made the write; breaks ties between equal counters. */
  readonly writer: string;
}

/**
 * A value together with the version of the write that stored it.
 *
 * @typeParam V - the value type.
 * @typeParam T - the version type: {@link Version} by default, or your own (a hybrid-clock
 *   timestamp with a node id, say) ordered by a {@link VersionComparator}.
 */
export interface Versioned<V, T = Version> {
  /** The stored value. */
  readonly value: V;
  /** The version of the write that stored it. */
  readonly version: T;
}

/**
 * Orders versions of type `T`: negative if `a` is older than `b`, 0 if equal, positive if newer;
 * `undefined` (no value stored) must be older than every version. It must be a total order that
 * every replica computes alike (break ties by writer id), or replicas could keep different
 * winners. {@link compareVersions} is the one for {@link Version}.
 */
export type VersionComparator<T> = (a: T | undefined, b: T | undefined) => number;

/**
 * Compares two versions: negative if `a` is older than `b`, 0 if equal, positive if newer.
 * `undefined` (no value stored) is older than every version.
 */
export function compareVersions(a: Version | undefined, b: Version | undefined): number {
  if (a === undefined || b === undefined)
    return (a === undefined ? 0 : 1) - (b === undefined ? 0 : 1);
  if (a.counter !== b.counter) return a.counter < b.counter ? -1 : 1;
  return a.writer < b.writer ? -1 : a.writer > b.writer ? 1 : 0;
}

/**
 * The version a writer uses for its next write of a key, after reading `latest` (the newest
 * version a read quorum returned, or `undefined` if the key has none): one more than its counter.
 *
 * @throws RangeError if the counter would exceed `Number.MAX_SAFE_INTEGER`.
 */
export function nextVersion(latest: Version | undefined, writer: string): Version {
  const counter = (latest?.counter ?? 0) + 1;
  if (!Number.isSafeInteger(counter))
    throw new RangeError(`version counter overflow after ${latest?.counter}`);
  return { counter, writer };
}

/**
 * The newer of two versioned values (`a` when equal): what a replica keeps when it receives a
 * write or a read repair, so that an old write arriving late never overwrites a newer one.
 */
export function newer<V>(
  a: Versioned<V> | undefined,
  b: Versioned<V> | undefined,
): Versioned<V> | undefined;
/**
 * The newer of two values whose versions `compare` orders (`a` when equal).
 *
 * @param compare - the order of the version type `T`.
 */
export function newer<V, T>(
  a: Versioned<V, T> | undefined,
  b: Versioned<V, T> | undefined,
  compare: VersionComparator<T>,
): Versioned<V, T> | undefined;
export function newer<V, T>(
  a: Versioned<V, T> | undefined,
  b: Versioned<V, T> | undefined,
  compare: VersionComparator<T> = compareVersions as unknown as VersionComparator<T>,
): Versioned<V, T> | undefined {
  return compare(b?.version, a?.version) > 0 ? b : a;
}
