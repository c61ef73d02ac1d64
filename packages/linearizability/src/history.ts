/** Identifies a client process. A process runs one operation at a time (Jepsen's convention). */
export type ProcessId = number | string;

/**
 * The kind of a history event.
 * - `invoke`: a process called an operation.
 * - `ok`: the operation completed and took effect.
 * - `fail`: the operation definitely did not take effect (and never will).
 * - `info`: the outcome is indeterminate: it may take effect at any time after its invoke, or never.
 */
export type EventType = 'invoke' | 'ok' | 'fail' | 'info';

/**
 * The operations the built-in models understand: `read`, `write`, `cas` for the register model;
 * `get`, `put`, `append` for the key-value model.
 */
export type OperationName = 'read' | 'write' | 'cas' | 'get' | 'put' | 'append';

/** A single value in a history. `null` means "never written" for a register. */
export type Scalar = string | number | boolean | null;

/**
 * The value carried by an event:
 * - `read` / `get`: nothing on invoke; the value read on `ok`.
 * - `write` / `put` / `append`: the argument on invoke (the completion may repeat it or omit it).
 * - `cas`: `[expected, replacement]` on invoke; `ok` means applied, `fail` means not applied.
 */
export type HistoryValue = Scalar | readonly [Scalar, Scalar];

/**
 * One line of a history: a process invoking an operation or learning its outcome. The order of
 * events in a history is their real-time order; `time` (monotonic milliseconds, optional) is for
 * people and reports and, when present, must not decrease.
 */
export interface HistoryEvent {
  readonly process: ProcessId;
  readonly type: EventType;
  readonly op: OperationName;
  /** The key the operation touches; absent for a single register (treated as `''`). */
  readonly key?: string;
  readonly value?: HistoryValue;
  /** Monotonic time in milliseconds, from the recorder's Clock. */
  readonly time?: number;
}

/** Every event type, for validation. */
export const eventTypes: readonly EventType[] = ['invoke', 'ok', 'fail', 'info'];

/** Every operation name the built-in models understand, for validation. */
export const operationNames: readonly OperationName[] = [
  'read',
  'write',
  'cas',
  'get',
  'put',
  'append',
];
