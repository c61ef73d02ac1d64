import { HistoryError } from './history-error.js';
import type { HistoryEvent, HistoryValue, OperationName, ProcessId, Scalar } from './history.js';
import { eventTypes, operationNames } from './history.js';

/**
 * An operation built from an invoke event and its completion. Only operations that may have taken
 * effect are kept: `ok` ones, and indeterminate (`info` or never completed) ones that change state.
 */
export interface Operation {
  /** Position among the kept operations of the whole history, in invoke order. */
  readonly id: number;
  readonly process: ProcessId;
  readonly op: OperationName;
  /** `''` when the events carry no key. */
  readonly key: string;
  /** The invoke event's value (`null` if absent). */
  readonly input: HistoryValue;
  /** The completion's value (`null` if absent or indeterminate). */
  readonly output: HistoryValue;
  /** `ok`: completed and took effect; `info`: may take effect after its invoke, or never. */
  readonly status: 'ok' | 'info';
  /** Index of the invoke event in the history. */
  readonly invokeIndex: number;
  /** Index of the completion event in the history; `Infinity` for an indeterminate operation. */
  readonly completeIndex: number;
  /** Monotonic time of the invoke, in milliseconds, when the history has times. */
  readonly invokeTime: number | undefined;
  /** Monotonic time of the completion, in milliseconds; `undefined` if unknown or indeterminate. */
  readonly completeTime: number | undefined;
}

const readOnly: ReadonlySet<OperationName> = new Set<OperationName>(['read', 'get']);
const knownTypes: ReadonlySet<string> = new Set(eventTypes);
const knownOperations: ReadonlySet<string> = new Set(operationNames);

interface Pending {
  readonly event: HistoryEvent;
  readonly index: number;
}

function isScalar(value: unknown): value is Scalar {
  return (
    value === null ||
    typeof value === 'string' ||
    typeof value === 'number' ||
    typeof value === 'boolean'
  );
}

function shapeError(index: number, message: string): HistoryError {
  return new HistoryError(`event ${index}: ${message}`, { eventIndex: index });
}

function isScalarPair(value: unknown): boolean {
  return Array.isArray(value) && value.length === 2 && isScalar(value[0]) && isScalar(value[1]);
}

/** @throws HistoryError unless `event` has the fields and types of a {@link HistoryEvent}. */
export function checkEventShape(event: HistoryEvent, index: number): void {
  // Runs once per event of every checked history: no allocation unless the event is malformed.
  const process: unknown = event.process;
  if (typeof process !== 'number' && typeof process !== 'string') {
    throw shapeError(index, '"process" must be a number or a string');
  }
  if (!knownTypes.has(event.type))
    throw shapeError(index, `unknown type ${JSON.stringify(event.type)}`);
  if (!knownOperations.has(event.op))
    throw shapeError(index, `unknown op ${JSON.stringify(event.op)}`);
  if (event.key !== undefined && typeof event.key !== 'string') {
    throw shapeError(index, '"key" must be a string');
  }
  if (event.time !== undefined && !Number.isFinite(event.time)) {
    throw shapeError(index, '"time" must be a number');
  }
  const value: unknown = event.value;
  if (value !== undefined && !isScalar(value) && !isScalarPair(value)) {
    throw shapeError(index, '"value" must be a string, number, boolean, null or a pair of them');
  }
  if (event.op === 'cas' && event.type === 'invoke' && !Array.isArray(value)) {
    throw shapeError(index, 'a cas invoke needs "value": [expected, replacement]');
  }
}

/**
 * Pairs each invoke with its completion and keeps the operations that may have taken effect:
 * `fail` operations are dropped (definitely not applied), as are reads whose outcome is unknown
 * (they constrain nothing). An operation still pending at the end of the history is indeterminate.
 *
 * @throws HistoryError if an event is malformed, a process invokes while its previous operation is
 *   pending, a completion has no matching invoke (same process, op and key), or time decreases.
 */
export function toOperations(history: readonly HistoryEvent[]): Operation[] {
  const pending = new Map<ProcessId, Pending>();
  const operations: Operation[] = [];
  // Operations are created at completion, but ids follow invoke order; slots keep that order.
  const slots: (Operation | undefined)[] = [];
  const slotOf = new Map<ProcessId, number>();
  let lastTime = -Infinity;

  const keep = (invoke: Pending, status: 'ok' | 'info', output: HistoryValue, end?: Pending) => {
    const event = invoke.event;
    const slot = slotOf.get(event.process);
    if (slot === undefined) return;
    slots[slot] = {
      id: -1,
      process: event.process,
      op: event.op,
      key: event.key ?? '',
      input: event.value ?? null,
      output,
      status,
      invokeIndex: invoke.index,
      completeIndex: end?.index ?? Infinity,
      invokeTime: event.time,
      completeTime: status === 'ok' ? end?.event.time : undefined,
    };
  };

  history.forEach((event, index) => {
    checkEventShape(event, index);
    if (event.time !== undefined) {
      if (event.time < lastTime) {
        throw new HistoryError(`event ${index}: time ${event.time} is before ${lastTime}`, {
          eventIndex: index,
        });
      }
      lastTime = event.time;
    }
    const open = pending.get(event.process);
    if (event.type === 'invoke') {
      if (open !== undefined) {
        throw new HistoryError(
          `event ${index}: process ${String(event.process)} invokes ${event.op} while its ${open.event.op} (event ${open.index}) is pending`,
          { eventIndex: index },
        );
      }
      pending.set(event.process, { event, index });
      slotOf.set(event.process, slots.length);
      slots.push(undefined);
      return;
    }
    if (open === undefined) {
      throw new HistoryError(
        `event ${index}: process ${String(event.process)} completes ${event.op} but has nothing pending`,
        { eventIndex: index },
      );
    }
    if (open.event.op !== event.op || (open.event.key ?? '') !== (event.key ?? '')) {
      throw new HistoryError(
        `event ${index}: process ${String(event.process)} completes ${event.op} ${JSON.stringify(event.key ?? '')} but invoked ${open.event.op} ${JSON.stringify(open.event.key ?? '')} (event ${open.index})`,
        { eventIndex: index },
      );
    }
    pending.delete(event.process);
    if (event.type === 'ok') {
      const output = readOnly.has(event.op) ? (event.value ?? null) : null;
      keep(open, 'ok', output, { event, index });
    } else if (event.type === 'info' && !readOnly.has(event.op)) {
      keep(open, 'info', null);
    }
  });
  for (const open of pending.values()) {
    if (!readOnly.has(open.event.op)) keep(open, 'info', null);
  }
  for (const operation of slots) {
    if (operation !== undefined) operations.push({ ...operation, id: operations.length });
  }
  return operations;
}
