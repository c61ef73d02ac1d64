import { ClockDecodeError } from './errors.js';
import { MAX_NODE_ID_LENGTH, nodeIdProblem, requireCount, requireNodeId } from './validate.js';

/**
 * How two version vectors relate: `before` (every count of the first is at most the second's and
 * one is smaller: the second has seen everything the first has, and more), `after` (the reverse),
 * `equal`, or `concurrent` (each has seen an event the other has not: siblings).
 */
export type VersionOrder = 'before' | 'after' | 'equal' | 'concurrent';

/** The JSON form of a {@link VersionVector}: node id to count, zero counts omitted. */
export type VersionVectorJson = Record<string, number>;

/** Bounds applied when decoding a {@link VersionVector} from untrusted input. */
export interface VersionVectorLimits {
  /** The most nodes a vector may name (default {@link DEFAULT_MAX_VERSION_VECTOR_NODES}). */
  readonly maxNodes?: number;
}

/** The default bound on the nodes a decoded version vector may name: 1024. */
export const DEFAULT_MAX_VERSION_VECTOR_NODES = 1024;

// The longest compact JSON one entry can take: the id with every code unit escaped as \uXXXX,
// its quotes, the colon, a 16-digit safe integer and a comma.
const MAX_ENTRY_JSON_LENGTH = MAX_NODE_ID_LENGTH * 6 + 2 + 1 + 16 + 1;

/**
 * A version vector: one event count per node. Node `n` increments its own entry for each update
 * it makes; a replica merges the vectors of the versions it combines. Comparing two vectors tells
 * whether one version descends from the other or whether they are concurrent (siblings that a
 * reader or the application must reconcile), which a single Lamport or hybrid timestamp cannot.
 *
 * Immutable: {@link VersionVector.increment} and {@link VersionVector.merge} return new vectors.
 * Node ids are non-empty strings of at most 255 characters; counts are safe integers. A node with
 * count 0 is the same as a node not named.
 */
export class VersionVector {
  /** The vector that names no node: before every other vector. */
  static readonly empty = new VersionVector(new Map());

  private readonly counts: ReadonlyMap<string, number>;

  private constructor(counts: ReadonlyMap<string, number>) {
    this.counts = counts;
  }

  /**
   * A vector with the given counts (zero counts are dropped).
   *
   * @throws RangeError if a node id is empty or too long, or a count is not a non-negative safe
   *   integer.
   */
  static from(counts: Iterable<readonly [string, number]>): VersionVector {
    const map = new Map<string, number>();
    for (const [node, count] of counts) {
      requireNodeId(node);
      requireCount(`count of ${node}`, count);
      if (count > 0) map.set(node, count);
    }
    return new VersionVector(map);
  }

  /**
   * Reads the JSON form ({@link VersionVector.toJSON}) from untrusted input, for example a parsed
   * network message: a plain object of node ids to non-negative safe integers.
   *
   * @throws ClockDecodeError if `json` is not of that form or names more than `maxNodes` nodes
   *   (checked before any entry is read).
   */
  static fromJSON(json: unknown, limits: VersionVectorLimits = {}): VersionVector {
    const maxNodes = limits.maxNodes ?? DEFAULT_MAX_VERSION_VECTOR_NODES;
    requireCount('maxNodes', maxNodes);
    if (typeof json !== 'object' || json === null || Array.isArray(json)) {
      throw new ClockDecodeError('version vector', 'expected an object of node ids to counts');
    }
    const nodes = Object.keys(json);
    if (nodes.length > maxNodes) {
      throw new ClockDecodeError(
        'version vector',
        `names ${nodes.length} nodes, more than the limit of ${maxNodes}`,
      );
    }
    const map = new Map<string, number>();
    for (const node of nodes) {
      const problem = nodeIdProblem(node);
      if (problem !== undefined) throw new ClockDecodeError('version vector', problem);
      const count: unknown = (json as Record<string, unknown>)[node];
      if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 0) {
        throw new ClockDecodeError(
          'version vector',
          `the count of ${JSON.stringify(node)} must be a non-negative safe integer`,
        );
      }
      if (count > 0) map.set(node, count);
    }
    return new VersionVector(map);
  }

  /**
   * Parses the text {@link VersionVector.encode} writes. The text's length is checked against
   * what `maxNodes` entries can take in compact JSON before it is parsed.
   *
   * @throws ClockDecodeError if the text is too long, not JSON, or not a valid version vector.
   */
  static decode(text: string, limits: VersionVectorLimits = {}): VersionVector {
    const maxNodes = limits.maxNodes ?? DEFAULT_MAX_VERSION_VECTOR_NODES;
    requireCount('maxNodes', maxNodes);
    const maxLength = 2 + maxNodes * MAX_ENTRY_JSON_LENGTH;
    if (text.length > maxLength) {
      throw new ClockDecodeError(
        'version vector',
        `${text.length} characters, more than ${maxNodes} nodes can take (${maxLength})`,
      );
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new ClockDecodeError('version vector', 'not JSON');
    }
    return VersionVector.fromJSON(json, limits);
  }

  /** The count of `node` (0 if it is not named). */
  get(node: string): number {
    return this.counts.get(node) ?? 0;
  }

  /** How many nodes have a count above 0. */
  get size(): number {
    return this.counts.size;
  }

  /** The nodes with a count above 0 and their counts, in node id order. */
  entries(): [string, number][] {
    return [...this.counts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /**
   * A new vector with `node`'s count one higher: what `node` records when it makes an update.
   *
   * @throws RangeError if `node` is not a valid node id or its count would pass
   *   `Number.MAX_SAFE_INTEGER`.
   */
  increment(node: string): VersionVector {
    requireNodeId(node);
    const next = this.get(node) + 1;
    if (!Number.isSafeInteger(next)) throw new RangeError(`version vector count overflow: ${node}`);
    const counts = new Map(this.counts);
    counts.set(node, next);
    return new VersionVector(counts);
  }

  /**
   * The least vector that is at or after both: each node's larger count. Commutative,
   * associative and idempotent, so replicas can merge in any order and any number of times.
   */
  merge(other: VersionVector): VersionVector {
    const counts = new Map(this.counts);
    for (const [node, count] of other.counts) {
      if (count > (counts.get(node) ?? 0)) counts.set(node, count);
    }
    return new VersionVector(counts);
  }

  /**
   * How this vector relates to `other`: `before` if `other` has seen everything this one has and
   * more, `after` for the reverse, `equal`, or `concurrent` if each has seen something the other
   * has not.
   */
  compare(other: VersionVector): VersionOrder {
    let someLess = false;
    let someGreater = false;
    for (const [node, count] of this.counts) {
      const theirs = other.get(node);
      if (count < theirs) someLess = true;
      else if (count > theirs) someGreater = true;
    }
    for (const [node, count] of other.counts) {
      if (!this.counts.has(node) && count > 0) someLess = true;
    }
    if (someLess && someGreater) return 'concurrent';
    if (someLess) return 'before';
    if (someGreater) return 'after';
    return 'equal';
  }

  /** The JSON form: node id to count, in node id order, zero counts omitted. */
  toJSON(): VersionVectorJson {
    const json: VersionVectorJson = {};
    for (const [node, count] of this.entries()) {
      Object.defineProperty(json, node, { value: count, enumerable: true, writable: true });
    }
    return json;
  }

  /** Compact JSON text of {@link VersionVector.toJSON}, for {@link VersionVector.decode}. */
  encode(): string {
    return JSON.stringify(this.toJSON());
  }
}
