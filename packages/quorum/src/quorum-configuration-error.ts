/** Why a cluster size or quorum size was refused. */
export type QuorumConfigurationProblem =
  | 'invalid-cluster-size'
  | 'invalid-quorum-size'
  | 'reads-may-miss-writes'
  | 'writes-may-conflict'
  | 'duplicate-voter';

/**
 * A cluster size or quorum size that cannot give the promised guarantees. A `RangeError`, with a
 * {@link problem} code to branch on.
 */
export class QuorumConfigurationError extends RangeError {
  /** What is wrong, as a stable code. */
  readonly problem: QuorumConfigurationProblem;

  /**
   * @param problem - what is wrong.
   * @param message - a sentence naming the values and the rule they break.
   */
  constructor(problem: QuorumConfigurationProblem, message: string) {
    super(message);
    this.name = 'QuorumConfigurationError';
    this.problem = problem;
  }
}
