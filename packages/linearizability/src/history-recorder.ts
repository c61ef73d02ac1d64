import type { Clock } from './clock.js';
import type { EventType, HistoryEvent, HistoryValue, OperationName, ProcessId } from './history.js';
import { formatJsonLines } from './json-lines.js';

/** What a process is about to do: the invoke event without process and time. */
export interface Invocation {
  readonly op: OperationName;
  readonly key?: string;
  /** The argument: the value to write, put or append, or `[expected, replacement]` for cas. */
  readonly value?: HistoryValue;
}

/** An invoked operation waiting for its outcome. Settle it exactly once. */
export interface PendingOperation {
  /** It took effect; `value` is what a read or get returned (other operations repeat their argument). */
  ok(value?: HistoryValue): void;
  /** It definitely did not take effect and never will (for example, a cas whose precondition failed). */
  fail(value?: HistoryValue): void;
  /** The outcome is unknown (timeout, lost connection): it may take effect later, or never. */
  info(value?: HistoryValue): void;
}

/** How {@link HistoryRecorder.record} turns a call's result or error into an event. */
export interface RecordOptions<Result> {
  /** The value to record with `ok`. Default: the result itself for `read`/`get`, nothing otherwise. */
  readonly value?: (result: Result) => HistoryValue | undefined;
  /**
   * Classifies an error: `fail` only if the operation definitely did not take effect. Default:
   * `info`, the safe answer: calling a possibly applied operation failed makes histories lie.
   */
  readonly error?: (error: unknown) => 'fail' | 'info';
}

/** Options of {@link HistoryRecorder}. */
export interface HistoryRecorderOptions {
  /** Stamps each event's `time` (monotonic milliseconds). */
  readonly clock: Clock;
  /** Called with every event as it is recorded, e.g. to stream it to a file. */
  readonly onEvent?: (event: HistoryEvent) => void;
}

/**
 * Records the history of client operations for the checker: wrap each call with `record`, or call
 * `invoke` and settle what it returns. Events are kept in the order they happen, which is the
 * real-time order the checker relies on, so record from the thread that sees the calls and their
 * results (in JavaScript: always).
 */
export class HistoryRecorder {
  private readonly recorded: HistoryEvent[] = [];
  private readonly pending = new Set<ProcessId>();

  constructor(private readonly options: HistoryRecorderOptions) {}

  /** The events recorded so far, in order. */
  get events(): readonly HistoryEvent[] {
    return this.recorded;
  }

  /**
   * Records that `process` invokes an operation now.
   * @throws Error if `process` already has an operation pending (a process runs one at a time; use
   *   another process id for concurrent calls).
   */
  invoke(process: ProcessId, invocation: Invocation): PendingOperation {
    if (this.pending.has(process)) {
      throw new Error(`process ${String(process)} already has an operation pending`);
    }
    this.pending.add(process);
    this.append('invoke', process, invocation, invocation.value);
    let settled = false;
    const settle = (type: EventType) => (value?: HistoryValue) => {
      if (settled) {
        throw new Error(`process ${String(process)}: ${invocation.op} was already settled`);
      }
      settled = true;
      this.pending.delete(process);
      // Like Jepsen, a completion of a write-like operation repeats its argument unless told otherwise.
      const readsValue = invocation.op === 'read' || invocation.op === 'get';
      this.append(type, process, invocation, value ?? (readsValue ? undefined : invocation.value));
    };
    return { ok: settle('ok'), fail: settle('fail'), info: settle('info') };
  }

  /**
   * Invokes `call` as an operation of `process` and records its outcome: `ok` if it resolves,
   * `info` (or what `options.error` says) if it rejects. Returns or rethrows what `call` does.
   * @throws whatever `call` throws, and as {@link HistoryRecorder.invoke}.
   */
  async record<Result>(
    process: ProcessId,
    invocation: Invocation,
    call: () => Promise<Result>,
    options: RecordOptions<Result> = {},
  ): Promise<Result> {
    const operation = this.invoke(process, invocation);
    let result: Result;
    try {
      result = await call();
    } catch (error) {
      const type = options.error?.(error) ?? 'info';
      operation[type]();
      throw error;
    }
    const readsValue = invocation.op === 'read' || invocation.op === 'get';
    const value = options.value
      ? options.value(result)
      : readsValue
        ? (result as HistoryValue | undefined)
        : undefined;
    operation.ok(value);
    return result;
  }

  /** The recorded events in the JSON-lines format of {@link parseJsonLines}. */
  toJsonLines(): string {
    return formatJsonLines(this.recorded);
  }

  private append(
    type: EventType,
    process: ProcessId,
    invocation: Invocation,
    value: HistoryValue | undefined,
  ): void {
    const event: HistoryEvent = {
      process,
      type,
      op: invocation.op,
      ...(invocation.key === undefined ? {} : { key: invocation.key }),
      ...(value === undefined ? {} : { value }),
      time: this.options.clock.now(),
    };
    this.recorded.push(event);
    this.options.onEvent?.(event);
  }
}
