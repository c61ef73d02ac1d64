import type { OperationName } from './history.js';
import type { Operation } from './operation.js';

/**
 * A sequential specification: what a single copy of the object does, one operation at a time.
 * The checker asks whether the concurrent history could have come from it. States are immutable
 * values, compared exactly with `equal` (`hash` only narrows the comparison).
 *
 * An indeterminate operation (`status: 'info'`) has no known output, so `step` must accept it in
 * any state where it could have taken effect.
 */
export interface Model<State> {
  /** Short name for reports, e.g. `register`. */
  readonly name: string;
  /** The operations this model understands (operations outside it are refused before the search). */
  readonly operations: readonly OperationName[];
  /** The state before any operation (of one key: the checker runs one copy per key). */
  initial(): State;
  /**
   * Why `operation` makes no sense for this model (say, a cas without a pair), or `undefined` if it
   * is fine. The checker asks before searching, so that bad input is reported as a HistoryError.
   */
  validate?(operation: Operation): string | undefined;
  /** The state after `operation`, or `undefined` if `operation` could not have happened in `state`. */
  step(state: State, operation: Operation): State | undefined;
  /** Exact equality of two states. */
  equal(a: State, b: State): boolean;
  /** A 32-bit hash consistent with `equal`. */
  hash(state: State): number;
  /** The state as people read it, for reports. */
  describeState(state: State): string;
  /** The operation as people read it, with its outcome, e.g. `cas 1→2 ok`. */
  describeOperation(operation: Operation): string;
}
