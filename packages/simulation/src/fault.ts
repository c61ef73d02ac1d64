import type { DiskOperation } from './disk-latency.js';

/**
 * One fault (or repair) the harness can inject. Scripted schedules list them with times; the
 * random schedule draws them from the `faults` stream.
 */
export type Fault =
  /** Kill a node; `powerLoss` (default true) also drops unsynced disk writes. */
  | { readonly kind: 'crash'; readonly node: string; readonly powerLoss?: boolean }
  /** Start a crashed node again from its disk. */
  | { readonly kind: 'restart'; readonly node: string }
  /** Freeze a node for `durationMs` (omitted: until a `resume`). */
  | { readonly kind: 'pause'; readonly node: string; readonly durationMs?: number }
  /** Unfreeze a paused node. */
  | { readonly kind: 'resume'; readonly node: string }
  /** Groups that cannot reach each other; unlisted nodes form one more group. */
  | { readonly kind: 'partition'; readonly groups: readonly (readonly string[])[] }
  /** Cut one node off from all others. */
  | { readonly kind: 'isolate'; readonly node: string }
  /** Block one direction only. */
  | { readonly kind: 'one-way'; readonly from: string; readonly to: string }
  /** Two halves that reach only `node`, which reaches both. */
  | { readonly kind: 'bridge'; readonly node: string }
  /** Each node reaches only its ring neighbours. */
  | { readonly kind: 'ring' }
  /** Remove every partition. */
  | { readonly kind: 'heal' }
  /** Reset the connections between two nodes (in-flight messages lost). */
  | { readonly kind: 'reset'; readonly a: string; readonly b: string }
  /** Jump a node's monotonic clock forward. */
  | { readonly kind: 'clock-jump'; readonly node: string; readonly ms: number }
  /** Make the next `times` (default 1) calls of `operation` on the node's disk fail with EIO. */
  | {
      readonly kind: 'disk-error';
      readonly node: string;
      readonly operation: DiskOperation;
      readonly times?: number;
    };

/** A fault at a virtual time, for scripted schedules. */
export interface ScheduledFault {
  /** Virtual time in milliseconds since the start of the run. */
  readonly atMs: number;
  readonly fault: Fault;
}

/** A short readable form of a fault, for traces and failure reports. */
export function describeFault(fault: Fault): string {
  switch (fault.kind) {
    case 'crash':
      return `crash ${fault.node}${fault.powerLoss === false ? ' (process only)' : ''}`;
    case 'restart':
    case 'resume':
    case 'isolate':
    case 'bridge':
      return `${fault.kind} ${fault.node}`;
    case 'pause':
      return `pause ${fault.node}${fault.durationMs === undefined ? '' : ` for ${fault.durationMs} ms`}`;
    case 'partition':
      return `partition ${fault.groups.map((group) => `[${group.join(',')}]`).join(' ')}`;
    case 'one-way':
      return `one-way block ${fault.from}>${fault.to}`;
    case 'ring':
    case 'heal':
      return fault.kind;
    case 'reset':
      return `reset ${fault.a}<>${fault.b}`;
    case 'clock-jump':
      return `clock-jump ${fault.node} +${fault.ms} ms`;
    case 'disk-error':
      return `disk-error ${fault.node} ${fault.operation} x${fault.times ?? 1}`;
  }
}
