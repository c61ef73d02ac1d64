import type { Operation } from './operation.js';

/** Work done by a check, for reports and benchmarks. */
export interface CheckStatistics {
  /** Operations kept after dropping failed ones and indeterminate reads. */
  readonly operations: number;
  /** Keys checked (linearizability is checked key by key). */
  readonly keys: number;
  /** Search steps taken, over all keys. */
  readonly steps: number;
}

/** Every operation in the history could be placed at one instant between its invoke and completion. */
export interface Linearizable {
  readonly outcome: 'linearizable';
  readonly statistics: CheckStatistics;
}

/** No legal order exists. The details describe where the search got furthest. */
export interface NotLinearizable {
  readonly outcome: 'not-linearizable';
  /** The key whose operations have no linearization. */
  readonly key: string;
  /**
   * The operation that could not be linearized: at the search's furthest point, every operation
   * that completed before it was placed, but no order let it take effect before it returned.
   */
  readonly failingOperation: Operation;
  /** The longest legal sequential order the search found for this key, in linearization order. */
  readonly linearizablePrefix: readonly Operation[];
  /** The model state after `linearizablePrefix`, as people read it. */
  readonly stateAfterPrefix: string;
  /** Every operation of this key, in invoke order (for reports such as {@link renderHtmlReport}). */
  readonly keyOperations: readonly Operation[];
  /** The operations of this key around the failing one, as a text timeline. */
  readonly timeline: string;
  readonly statistics: CheckStatistics;
}

/**
 * The budget ran out before the search finished. Callers must treat this as a failure: nothing
 * was proven, and a non-linearizable history often looks exactly like this.
 */
export interface Unknown {
  readonly outcome: 'unknown';
  /** Which budget ran out. */
  readonly reason: 'step-budget' | 'time-budget';
  /** The key being searched when the budget ran out. */
  readonly key: string;
  readonly statistics: CheckStatistics;
}

/** The answer of {@link checkHistory}: `linearizable`, `not-linearizable` or `unknown`. */
export type CheckResult = Linearizable | NotLinearizable | Unknown;
