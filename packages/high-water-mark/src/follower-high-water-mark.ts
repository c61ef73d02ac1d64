import { assertLogIndex } from './log-index.js';

/**
 * The follower's side of the high-water mark: which local entries may be applied.
 *
 * The leader sends its high-water mark with every append (and heartbeat). A follower may apply an
 * entry only when it is at or below that mark **and** it holds that entry, matching the leader's
 * log: the applicable index is the minimum of the two, and it never decreases (a reordered message
 * carrying an older mark, or a log that is shorter after a truncation above the mark, changes
 * nothing).
 *
 * @example
 * ```ts
 * const follower = new FollowerHighWaterMark();
 * follower.update(10, 7); // leader's mark 10, local log verified up to 7: apply up to 7
 * follower.update(10, 12); // 10
 * ```
 */
export class FollowerHighWaterMark {
  #applicableIndex: number;

  /**
   * @param applicableIndex - the index already known to be committed, for example the last applied
   *   index after a restart (default 0).
   * @throws RangeError if `applicableIndex` is not a non-negative safe integer.
   */
  constructor(applicableIndex = 0) {
    assertLogIndex(applicableIndex, 'applicableIndex');
    this.#applicableIndex = applicableIndex;
  }

  /** The highest local index that is committed and may be applied. Never decreases. */
  get applicableIndex(): number {
    return this.#applicableIndex;
  }

  /**
   * Takes in the leader's high-water mark from a message of the current leader.
   *
   * @param leaderHighWaterMark - the mark the leader sent.
   * @param lastMatchingIndex - the last local index known to match the leader's log: the index of
   *   the last entry of the append just accepted (or of the heartbeat's consistency check), not
   *   merely the end of the local log, which may still hold a conflicting suffix.
   * @returns the applicable index after the update.
   * @throws RangeError if an argument is not a non-negative safe integer.
   */
  update(leaderHighWaterMark: number, lastMatchingIndex: number): number {
    assertLogIndex(leaderHighWaterMark, 'leaderHighWaterMark');
    assertLogIndex(lastMatchingIndex, 'lastMatchingIndex');
    const candidate = Math.min(leaderHighWaterMark, lastMatchingIndex);
    if (candidate > this.#applicableIndex) this.#applicableIndex = candidate;
    return this.#applicableIndex;
  }
}
