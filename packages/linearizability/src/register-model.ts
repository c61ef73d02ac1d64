import { hashScalar } from './hash.js';
import type { HistoryValue, Scalar } from './history.js';
import type { Model } from './model.js';
import type { Operation } from './operation.js';

/** Options of {@link registerModel}. */
export interface RegisterModelOptions {
  /** The value of a register never written; `null` (read as `nil`) by default, as in Jepsen. */
  readonly initialValue?: Scalar;
}

function describe(value: HistoryValue): string {
  if (Array.isArray(value))
    return `${describe(value[0] as Scalar)}→${describe(value[1] as Scalar)}`;
  return value === null ? 'nil' : JSON.stringify(value);
}

function casArguments(operation: Operation): readonly [Scalar, Scalar] {
  const input = operation.input;
  if (!Array.isArray(input)) throw new TypeError(`operation ${operation.id}: cas needs a pair`);
  return input as readonly [Scalar, Scalar];
}

/**
 * A read/write/compare-and-set register (one per key). `read` returns the value, `write` sets it,
 * `cas [expected, replacement]` sets it only if it holds `expected` (a `fail`ed cas is dropped
 * from the history, so a kept one was applied). Values compare with `===`.
 */
export function registerModel(options: RegisterModelOptions = {}): Model<Scalar> {
  const initialValue = options.initialValue ?? null;
  return {
    name: 'register',
    operations: ['read', 'write', 'cas'],
    initial: () => initialValue,
    validate(operation) {
      if (operation.op === 'cas' && !Array.isArray(operation.input)) {
        return 'cas needs [expected, replacement]';
      }
      if (Array.isArray(operation.input) && operation.op !== 'cas') {
        return `${operation.op} needs a single value`;
      }
      return operation.op === 'read' && Array.isArray(operation.output)
        ? 'read returns a single value'
        : undefined;
    },
    step(state, operation) {
      switch (operation.op) {
        case 'read':
          return operation.output === state ? state : undefined;
        case 'write':
          return operation.input as Scalar;
        case 'cas': {
          const [expected, replacement] = casArguments(operation);
          if (state === expected) return replacement;
          // An indeterminate cas that found another value did nothing; an acknowledged one must match.
          return operation.status === 'info' ? state : undefined;
        }
        default:
          throw new TypeError(`the register model has no ${operation.op} operation`);
      }
    },
    equal: (a, b) => a === b,
    hash: hashScalar,
    describeState: (state) => describe(state),
    describeOperation(operation) {
      const outcome = operation.status === 'info' ? '?' : 'ok';
      if (operation.op === 'read') return `read → ${describe(operation.output)}`;
      return `${operation.op} ${describe(operation.input)} ${outcome}`;
    },
  };
}
