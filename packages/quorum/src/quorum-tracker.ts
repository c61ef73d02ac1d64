import { majority } from './majority.js';
import { QuorumConfigurationError } from './quorum-configuration-error.js';

/**
 * Tracks, for a fixed set of voters, the highest value each has acknowledged (a log index, a
 * confirmation round) and the highest value a majority has reached: the value every quorum of
 * them has seen. A leader uses it to count acknowledgements: it commits or confirms once
 * {@link QuorumTracker.quorumValue} reaches what it waits for.
 *
 * Values only rise per voter (an older, reordered acknowledgement changes nothing), except
 * through {@link QuorumTracker.reset}, for a voter whose earlier acknowledgements no longer hold.
 */
export class QuorumTracker {
  readonly #acknowledged = new Map<string, number>();
  readonly #needed: number;

  /**
   * @param voters - every voter, each once; all start at 0.
   * @throws QuorumConfigurationError (`'invalid-cluster-size'`) when `voters` is empty, or
   *   (`'duplicate-voter'`) when a voter appears twice.
   */
  constructor(voters: readonly string[]) {
    this.#needed = majority(voters.length);
    for (const voter of voters) {
      if (this.#acknowledged.has(voter)) {
        throw new QuorumConfigurationError('duplicate-voter', `voter ${voter} appears twice`);
      }
      this.#acknowledged.set(voter, 0);
    }
  }

  /** How many voters make a majority. */
  get needed(): number {
    return this.#needed;
  }

  /**
   * Records that `voter` acknowledged `value`. Ignored for a non-voter.
   * @returns whether the voter's value rose
   */
  record(voter: string, value: number): boolean {
    const current = this.#acknowledged.get(voter);
    if (current === undefined || value <= current) return false;
    this.#acknowledged.set(voter, value);
    return true;
  }

  /** Forgets what `voter` acknowledged (back to 0): its earlier acknowledgements no longer count. */
  reset(voter: string): void {
    if (this.#acknowledged.has(voter)) this.#acknowledged.set(voter, 0);
  }

  /** The highest value `voter` acknowledged (0 for none or a non-voter). */
  valueOf(voter: string): number {
    return this.#acknowledged.get(voter) ?? 0;
  }

  /** The highest value acknowledged by a majority of the voters (0 when none is). */
  quorumValue(): number {
    const values = [...this.#acknowledged.values()].sort((a, b) => b - a);
    return values[this.#needed - 1] ?? 0;
  }

  /** Whether a majority of the voters acknowledged `value` or more. */
  hasQuorum(value: number): boolean {
    return this.quorumValue() >= value;
  }
}
