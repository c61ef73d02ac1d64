import type { HistoryEvent, HistoryValue, OperationName, ProcessId } from '@x/linearizability';

/** The operation a client invokes: what @x/linearizability records. */
export interface ClientOperation {
  /** `read`, `write`, `cas` (register) or `get`, `put`, `append` (key-value). */
  readonly op: OperationName;
  /** The key; omit for a single register. */
  readonly key?: string;
  /** The argument: the value to write, `[expected, replacement]` for cas, nothing for a read. */
  readonly value?: HistoryValue;
}

/**
 * Collects the history of client operations in virtual-time order, in the format of
 * `@x/linearizability` (Jepsen-style invoke / ok / fail / info events).
 */
export class HistoryRecorder {
  private readonly recorded: HistoryEvent[] = [];

  /** @param time Stamps events with its `now` (the simulation's virtual time). */
  constructor(private readonly time: { readonly now: number }) {}

  /** Every event so far, in order. */
  get events(): readonly HistoryEvent[] {
    return this.recorded;
  }

  /** Records that `process` invoked `operation`. */
  invoke(process: ProcessId, operation: ClientOperation): void {
    this.push(process, 'invoke', operation, operation.value);
  }

  /** Records that the operation took effect; `value` is what a read returned. */
  ok(process: ProcessId, operation: ClientOperation, value?: HistoryValue): void {
    this.push(process, 'ok', operation, value);
  }

  /** Records that the operation definitely did not take effect and never will. */
  fail(process: ProcessId, operation: ClientOperation): void {
    this.push(process, 'fail', operation, operation.value);
  }

  /** Records that the outcome is unknown: it may take effect at any time after the invoke, or never. */
  info(process: ProcessId, operation: ClientOperation): void {
    this.push(process, 'info', operation, operation.value);
  }

  private push(
    process: ProcessId,
    type: HistoryEvent['type'],
    operation: ClientOperation,
    value: HistoryValue | undefined,
  ): void {
    this.recorded.push({
      process,
      type,
      op: operation.op,
      ...(operation.key === undefined ? {} : { key: operation.key }),
      ...(value === undefined ? {} : { value }),
      time: this.time.now,
    });
  }
}
