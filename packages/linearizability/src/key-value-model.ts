import { hashText } from './hash.js';
import type { Model } from './model.js';
import type { Operation } from './operation.js';

/** One key's value in {@link keyValueModel}, with its hash kept so long values hash once. */
export interface KeyValueState {
  readonly value: string;
  readonly hash: number;
}

const empty: KeyValueState = { value: '', hash: hashText('') };

function text(operation: Operation, field: 'input' | 'output'): string {
  const value = operation[field];
  if (value === null) return '';
  if (typeof value !== 'string') {
    throw new TypeError(`operation ${operation.id}: ${operation.op} needs a string ${field}`);
  }
  return value;
}

/**
 * A string key-value store, checked one key at a time: `get` returns the value (`''` if never
 * written), `put` replaces it, `append` concatenates to it. This is Porcupine's kv model.
 */
export function keyValueModel(): Model<KeyValueState> {
  return {
    name: 'kv',
    operations: ['get', 'put', 'append'],
    initial: () => empty,
    validate(operation) {
      const field = operation.op === 'get' ? 'output' : 'input';
      const value = operation[field];
      return value === null || typeof value === 'string'
        ? undefined
        : `${operation.op} needs a string ${field === 'input' ? 'argument' : 'result'}`;
    },
    step(state, operation) {
      switch (operation.op) {
        case 'get':
          return text(operation, 'output') === state.value ? state : undefined;
        case 'put': {
          const value = text(operation, 'input');
          return { value, hash: hashText(value) };
        }
        case 'append': {
          const suffix = text(operation, 'input');
          return { value: state.value + suffix, hash: hashText(suffix, state.hash) };
        }
        default:
          throw new TypeError(`the key-value model has no ${operation.op} operation`);
      }
    },
    equal: (a, b) => a === b || (a.hash === b.hash && a.value === b.value),
    hash: (state) => state.hash,
    describeState: (state) => JSON.stringify(state.value),
    describeOperation(operation) {
      if (operation.op === 'get') return `get → ${JSON.stringify(text(operation, 'output'))}`;
      const outcome = operation.status === 'info' ? '?' : 'ok';
      return `${operation.op} ${JSON.stringify(text(operation, 'input'))} ${outcome}`;
    },
  };
}
