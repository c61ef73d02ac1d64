import type { GenerationOf } from './generation-of.js';
import { assertLogIndex } from './log-index.js';

/** How to build a {@link LeaderHighWaterMark}. */
export interface LeaderHighWaterMarkOptions {
  /** Id of the leader itself. Its durable log index counts as one replica. */
  readonly leader: string;
  /** Ids of the other members of the cluster (0 to 6 of them: clusters of 1 to 7 are typical). */
  readonly followers: readonly string[];
  /** The leader's current generation (term). Only entries of this generation are committed by counting. */
  readonly generation: number;
  /** The generation of the leader's log entry at an index. */
  readonly generationOf: GenerationOf;
  /** The high-water mark already known when this leader took over (default 0). The mark never goes below it. */
  readonly highWaterMark?: number;
}

/**
 * The leader's side of the high-water mark (Raft: the commit index).
 *
 * Records, for every member, the highest log index known to be durable there (the match index),
 * and keeps the high-water mark: the largest index stored on a majority whose entry is of the
 * leader's current generation. An entry of an older generation is never committed by counting
 * replicas, even on a majority (figure 8 of the Raft paper): it becomes committed only when an
 * entry of the current generation after it does.
 *
 * Built for the acknowledgement hot path: {@link recordMatchIndex} does not allocate and costs
 * O(n) in the number of members. A new leader (or a membership change) builds a new tracker.
 *
 * @example
 * ```ts
 * const tracker = new LeaderHighWaterMark({
 *   leader: 'athens', followers: ['byzantium', 'cyrene'], generation: 3, generationOf: (i) => log.generationAt(i),
 * });
 * tracker.recordMatchIndex('athens', 12); // the leader's own fsync completed
 * tracker.recordMatchIndex('cyrene', 12); // a follower acknowledged
 * tracker.highWaterMark; // 12, if entry 12 is of generation 3
 * ```
 */
export class LeaderHighWaterMark {
  /** The leader's generation this tracker commits for. */
  readonly generation: number;
  /** Number of members (leader included) that must store an entry for it to be committed. */
  readonly quorum: number;
  readonly #generationOf: GenerationOf;
  readonly #slotOf: ReadonlyMap<string, number>;
  readonly #matchIndexes: Float64Array;
  // The quorum-th largest match index: the highest index stored on a majority, of any generation.
  #majorityIndex = 0;
  #highWaterMark: number;

  /**
   * @throws RangeError if the generation or initial mark is not a non-negative safe integer.
   * @throws Error if a member id appears twice.
   */
  constructor(options: LeaderHighWaterMarkOptions) {
    assertLogIndex(options.generation, 'generation');
    const initialMark = options.highWaterMark ?? 0;
    assertLogIndex(initialMark, 'highWaterMark');
    const members = [options.leader, ...options.followers];
    const slotOf = new Map<string, number>();
    for (const member of members) {
      if (slotOf.has(member)) throw new Error(`member ${member} is listed twice`);
      slotOf.set(member, slotOf.size);
    }
    this.generation = options.generation;
    this.quorum = Math.floor(members.length / 2) + 1;
    this.#generationOf = options.generationOf;
    this.#slotOf = slotOf;
    this.#matchIndexes = new Float64Array(members.length);
    this.#highWaterMark = initialMark;
  }

  /** The largest log index stored on a majority whose entry is of {@link generation}. Never decreases. */
  get highWaterMark(): number {
    return this.#highWaterMark;
  }

  /**
   * The highest index recorded for a member (0 until its first acknowledgement).
   *
   * @throws Error if `member` is not in the cluster.
   */
  matchIndexOf(member: string): number {
    return this.#matchIndexes[this.#slot(member)] ?? 0;
  }

  /**
   * Records that the log of `member` matches the leader's up to `matchIndex`, durably: a follower's
   * acknowledgement, or the leader's own completed fsync. A lower index than already recorded is
   * ignored (a reordered or duplicated response). Does not allocate.
   *
   * @returns the high-water mark after the update.
   * @throws RangeError if `matchIndex` is not a non-negative safe integer.
   * @throws Error if `member` is not in the cluster.
   */
  recordMatchIndex(member: string, matchIndex: number): number {
    assertLogIndex(matchIndex, 'matchIndex');
    const slot = this.#slot(member);
    const matchIndexes = this.#matchIndexes;
    const previous = matchIndexes[slot] ?? 0;
    if (matchIndex <= previous) return this.#highWaterMark;
    matchIndexes[slot] = matchIndex;
    const majorityIndex = this.#majorityIndex;
    // The majority index can only move if this member just crossed above it.
    if (previous > majorityIndex || matchIndex <= majorityIndex) return this.#highWaterMark;
    // At most quorum-1 members were above the majority index; if one more is now, the new majority
    // index is the smallest of those above it.
    let above = 0;
    let lowestAbove = Number.POSITIVE_INFINITY;
    for (let i = 0; i < matchIndexes.length; i++) {
      const value = matchIndexes[i] ?? 0;
      if (value > majorityIndex) {
        above++;
        if (value < lowestAbove) lowestAbove = value;
      }
    }
    if (above < this.quorum) return this.#highWaterMark;
    this.#majorityIndex = lowestAbove;
    // Generations never decrease along the log, so if this entry is of an older generation so is
    // every entry below it, and none may be committed by counting.
    if (lowestAbove > this.#highWaterMark && this.#generationOf(lowestAbove) === this.generation) {
      this.#highWaterMark = lowestAbove;
    }
    return this.#highWaterMark;
  }

  #slot(member: string): number {
    const slot = this.#slotOf.get(member);
    if (slot === undefined) throw new Error(`unknown member ${member}`);
    return slot;
  }
}
