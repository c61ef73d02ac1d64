import type { HistoryEvent, Scalar } from '../src/index.js';

// An independent, obviously correct and exponential oracle for small register histories: it tries
// every order that respects each process's program order and real time, memoizing on (how far each
// process got, register value). An indeterminate operation may be applied or skipped.

interface OracleOperation {
  readonly op: string;
  readonly input: unknown;
  readonly output: Scalar;
  readonly invoke: number;
  readonly complete: number; // Infinity if indeterminate
}

function perProcess(history: readonly HistoryEvent[]): OracleOperation[][] {
  const lanes = new Map<string, OracleOperation[]>();
  const open = new Map<string, { event: HistoryEvent; index: number }>();
  const add = (process: string, operation: OracleOperation) => {
    if (!lanes.has(process)) lanes.set(process, []);
    lanes.get(process)!.push(operation);
  };
  history.forEach((event, index) => {
    const process = String(event.process);
    if (event.type === 'invoke') {
      open.set(process, { event, index });
      return;
    }
    const invoke = open.get(process)!;
    open.delete(process);
    if (event.type === 'fail') return;
    if (event.type === 'info') {
      // It may take effect even after the process's later operations: give it a lane of its own.
      if (event.op !== 'read')
        add(`${process}/${index}`, {
          op: event.op,
          input: invoke.event.value,
          output: null,
          invoke: invoke.index,
          complete: Infinity,
        });
      return;
    }
    add(process, {
      op: event.op,
      input: invoke.event.value,
      output: (event.value ?? null) as Scalar,
      invoke: invoke.index,
      complete: index,
    });
  });
  for (const [process, { event, index }] of open) {
    if (event.op !== 'read')
      add(process, {
        op: event.op,
        input: event.value,
        output: null,
        invoke: index,
        complete: Infinity,
      });
  }
  return [...lanes.values()];
}

/** Whether a single-register history (read/write/cas, initial value nil) is linearizable. */
export function bruteForceLinearizable(history: readonly HistoryEvent[]): boolean {
  const lanes = perProcess(history);
  const seen = new Set<string>();
  const search = (positions: number[], value: Scalar): boolean => {
    const memo = `${positions.join(',')}|${JSON.stringify(value)}`;
    if (seen.has(memo)) return false;
    seen.add(memo);
    if (lanes.every((lane, index) => positions[index] === lane.length)) return true;
    // No operation may be placed after the earliest completion of any operation not yet placed.
    let deadline = Infinity;
    lanes.forEach((lane, index) => {
      for (let at = positions[index]!; at < lane.length; at++)
        deadline = Math.min(deadline, lane[at]!.complete);
    });
    for (let index = 0; index < lanes.length; index++) {
      const operation = lanes[index]![positions[index]!];
      if (operation === undefined) continue;
      const advanced = positions.slice();
      advanced[index]!++;
      if (operation.complete === Infinity && search(advanced, value)) return true; // never took effect
      if (operation.invoke > deadline) continue;
      let next: Scalar | undefined;
      if (operation.op === 'read') next = operation.output === value ? value : undefined;
      else if (operation.op === 'write') next = operation.input as Scalar;
      else {
        const [expected, replacement] = operation.input as [Scalar, Scalar];
        next = expected === value ? replacement : undefined;
      }
      if (next !== undefined && search(advanced, next)) return true;
    }
    return false;
  };
  return search(
    lanes.map(() => 0),
    null,
  );
}
