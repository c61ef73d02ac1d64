import type { Clock } from './clock.js';
import type { CheckResult } from './check-result.js';
import { HistoryError } from './history-error.js';
import type { HistoryEvent } from './history.js';
import type { Model } from './model.js';
import type { Operation } from './operation.js';
import { toOperations } from './operation.js';
import type { Budget } from './search.js';
import { PartitionSearch } from './search.js';
import { renderTimeline } from './timeline.js';

/** Options of {@link checkHistory}. */
export interface CheckOptions<State> {
  /** The sequential specification, e.g. `registerModel()` or `keyValueModel()`. */
  readonly model: Model<State>;
  /**
   * Maximum search steps over all keys (default 50,000,000, which is seconds of work). When it runs
   * out the result is `unknown`.
   */
  readonly stepBudget?: number;
  /** Maximum time in milliseconds, measured on `clock`; the result is `unknown` when exceeded. */
  readonly timeBudgetMs?: number;
  /** Monotonic clock for `timeBudgetMs`; required with it (e.g. `nodeClock`). */
  readonly clock?: Clock;
}

/** Default for {@link CheckOptions.stepBudget}. */
export const defaultStepBudget = 50_000_000;

const initialQuantum = 4096;

/**
 * Checks a history of concurrent operations for linearizability against `model`, key by key
 * (linearizability is local). Failed operations are dropped; indeterminate ones may take effect at
 * any time after their invoke, or never.
 *
 * Deterministic: the same history, model and step budget give the same result.
 *
 * @throws HistoryError if the history is malformed (see {@link toOperations}) or an operation
 *   makes no sense for the model (see {@link Model.validate}).
 * @throws TypeError if `timeBudgetMs` is given without a `clock`.
 */
export function checkHistory<State>(
  history: readonly HistoryEvent[],
  options: CheckOptions<State>,
): CheckResult {
  return checkOperations(toOperations(history), options);
}

/**
 * {@link checkHistory} for operations already paired by {@link toOperations}.
 * @throws as {@link checkHistory}.
 */
export function checkOperations<State>(
  operations: readonly Operation[],
  options: CheckOptions<State>,
): CheckResult {
  const model = options.model as Model<unknown>;
  if (options.timeBudgetMs !== undefined && options.clock === undefined) {
    throw new TypeError('checkHistory: timeBudgetMs needs a clock');
  }
  const known = new Set(model.operations);
  for (const operation of operations) {
    const problem = known.has(operation.op)
      ? model.validate?.(operation)
      : `the ${model.name} model has no ${operation.op} operation`;
    if (problem !== undefined) {
      throw new HistoryError(`event ${operation.invokeIndex}: ${problem}`, {
        eventIndex: operation.invokeIndex,
      });
    }
  }
  const clock = options.clock;
  const budget: Budget = {
    steps: 0,
    stepLimit: options.stepBudget ?? defaultStepBudget,
    now: clock === undefined ? undefined : () => clock.now(),
    deadline:
      clock === undefined || options.timeBudgetMs === undefined
        ? Infinity
        : clock.now() + options.timeBudgetMs,
  };
  const partitions = partitionByKey(operations);
  const statistics = () => ({
    operations: operations.length,
    keys: partitions.size,
    steps: budget.steps,
  });
  // Round-robin with a doubling quantum, so a key that fails fast is reported even when another
  // key's search is long (Porcupine gets the same from checking keys in parallel).
  let running = [...partitions].map(([key, partition]) => ({
    key,
    partition,
    search: new PartitionSearch(partition, model),
  }));
  for (let quantum = initialQuantum; running.length > 0; quantum *= 2) {
    const unfinished: typeof running = [];
    for (const { key, partition, search } of running) {
      const outcome = search.run(budget, quantum);
      if (outcome === undefined) {
        unfinished.push({ key, partition, search });
      } else if (outcome.kind === 'budget') {
        const reason = outcome.reason === 'steps' ? 'step-budget' : 'time-budget';
        return { outcome: 'unknown', reason, key, statistics: statistics() };
      } else if (outcome.kind === 'not-linearizable') {
        const stateAfterPrefix = model.describeState(outcome.stateAfterPrefix);
        return {
          outcome: 'not-linearizable',
          key,
          failingOperation: outcome.failing,
          linearizablePrefix: outcome.prefix,
          stateAfterPrefix,
          keyOperations: partition,
          timeline: renderTimeline({
            key,
            operations: partition,
            failing: outcome.failing,
            prefix: outcome.prefix,
            stateAfterPrefix,
            model,
          }),
          statistics: statistics(),
        };
      }
    }
    running = unfinished;
  }
  return { outcome: 'linearizable', statistics: statistics() };
}

/** Operations grouped by key, keys in order of first invoke, each group in invoke order. */
export function partitionByKey(operations: readonly Operation[]): Map<string, Operation[]> {
  const partitions = new Map<string, Operation[]>();
  for (const operation of operations) {
    let partition = partitions.get(operation.key);
    if (partition === undefined) partitions.set(operation.key, (partition = []));
    partition.push(operation);
  }
  return partitions;
}
