import type { HistoryEvent, OperationName, Scalar } from '../src/index.js';

// Valid histories from a real sequential execution: each operation gets an interval on its
// process's timeline and a linearization point inside it; executing the operations in the order of
// their points gives the outputs. Concurrency comes from overlapping intervals across processes.

/** One generated operation, with what really happened to it. */
export interface GeneratedOperation {
  readonly process: number;
  readonly op: OperationName;
  readonly key: string;
  readonly input: Scalar | readonly [Scalar, Scalar];
  invoke: number;
  complete: number; // Infinity: never completed
  point: number; // linearization point; Infinity if an indeterminate operation never took effect
  /** `info`: indeterminate (recorded without outcome). */
  readonly indeterminate: boolean;
  // Filled in by execute():
  output: Scalar;
  applied: boolean;
}

/** Shape of generated histories. */
export interface GenerateOptions {
  readonly processes: number;
  readonly operations: number;
  readonly model: 'register' | 'kv';
  readonly keys?: number;
  readonly values?: number;
  /** Probability that a write-like operation times out (its outcome indeterminate). */
  readonly indeterminate?: number;
}

export function generateOperations(
  random: () => number,
  options: GenerateOptions,
): GeneratedOperation[] {
  const pick = (n: number) => Math.floor(random() * n);
  const values = options.values ?? 4;
  const clocks = Array.from({ length: options.processes }, () => random() * 3);
  // Jepsen gives a client whose call is indeterminate a fresh process id: lane + k * processes.
  const ids = Array.from({ length: options.processes }, (_, lane) => lane);
  const operations: GeneratedOperation[] = [];
  for (let count = 0; count < options.operations; count++) {
    const lane = pick(options.processes);
    const process = ids[lane]!;
    const invoke = clocks[lane]! + random() * 2 + 0.01;
    const complete = invoke + 0.1 + random() * random() * 8;
    const key = String(pick(options.keys ?? 1));
    let op: OperationName;
    let input: Scalar | readonly [Scalar, Scalar] = null;
    const roll = random();
    if (options.model === 'register') {
      op = roll < 0.4 ? 'read' : roll < 0.8 ? 'write' : 'cas';
      if (op === 'write') input = pick(values);
      if (op === 'cas') input = [pick(values), pick(values)];
    } else {
      op = roll < 0.4 ? 'get' : roll < 0.6 ? 'put' : 'append';
      if (op !== 'get') input = `${process}.${count};`;
    }
    const writes = op !== 'read' && op !== 'get';
    const indeterminate = writes && random() < (options.indeterminate ?? 0.1);
    let point = invoke + random() * (complete - invoke);
    if (indeterminate) {
      ids[lane] = process + options.processes;
      point = random() < 0.5 ? Infinity : invoke + random() * 10;
    }
    operations.push({
      process,
      op,
      key,
      input,
      invoke,
      complete: indeterminate && random() < 0.5 ? Infinity : complete,
      point,
      indeterminate,
      output: null,
      applied: false,
    });
    clocks[lane] = complete;
  }
  return operations;
}

/**
 * Executes the operations in linearization-point order, filling in outputs. `skip` makes one
 * acknowledged operation have no effect (a lost write).
 */
export function execute(
  operations: readonly GeneratedOperation[],
  model: 'register' | 'kv',
  skip?: GeneratedOperation,
): void {
  const state = new Map<string, Scalar>();
  const initial = model === 'register' ? null : '';
  const ordered = [...operations]
    .filter((o) => o.point !== Infinity)
    .sort((a, b) => a.point - b.point);
  for (const operation of operations) operation.applied = false;
  for (const operation of ordered) {
    const current = state.has(operation.key) ? state.get(operation.key)! : initial;
    switch (operation.op) {
      case 'read':
      case 'get':
        operation.output = current;
        break;
      case 'write':
      case 'put':
        if (operation !== skip) state.set(operation.key, operation.input as Scalar);
        operation.applied = true;
        break;
      case 'append':
        if (operation !== skip)
          state.set(operation.key, `${current as string}${operation.input as string}`);
        operation.applied = true;
        break;
      case 'cas': {
        const [expected, replacement] = operation.input as readonly [Scalar, Scalar];
        operation.applied = current === expected;
        if (operation.applied && operation !== skip) state.set(operation.key, replacement);
        break;
      }
    }
  }
}

/** The history the clients would have recorded. */
export function toHistory(operations: readonly GeneratedOperation[]): HistoryEvent[] {
  const timed: { time: number; order: number; event: HistoryEvent }[] = [];
  operations.forEach((operation, order) => {
    const base = {
      process: operation.process,
      op: operation.op,
      ...(operation.key === '0' &&
      operation.op !== 'get' &&
      operation.op !== 'put' &&
      operation.op !== 'append'
        ? {}
        : { key: operation.key }),
    };
    const input =
      operation.op === 'read' || operation.op === 'get' ? {} : { value: operation.input };
    timed.push({ time: operation.invoke, order, event: { ...base, type: 'invoke', ...input } });
    if (operation.complete === Infinity) return;
    let completion: HistoryEvent;
    if (operation.indeterminate) completion = { ...base, type: 'info' };
    else if (operation.op === 'cas' && !operation.applied)
      completion = { ...base, type: 'fail', value: operation.input };
    else if (operation.op === 'read' || operation.op === 'get')
      completion = { ...base, type: 'ok', value: operation.output };
    else completion = { ...base, type: 'ok', value: operation.input };
    timed.push({ time: operation.complete, order, event: completion });
  });
  timed.sort((a, b) => a.time - b.time || a.order - b.order);
  return timed.map(({ event }) => event);
}

/** Generates, executes and records one valid history. */
export function generateHistory(random: () => number, options: GenerateOptions) {
  const operations = generateOperations(random, options);
  execute(operations, options.model);
  return { operations, history: toHistory(operations) };
}
