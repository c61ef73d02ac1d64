import type { CheckReport } from './checks.js';

/** One write the register workload sent, with what the client was told. */
export interface RegisterWrite {
  readonly key: string;
  /** The value written (unique across the run). */
  readonly value: number;
  /** `ok`: acknowledged; `fail`: definitely not applied; `info`: unknown. */
  readonly outcome: 'ok' | 'fail' | 'info';
  /** The revision the acknowledgement named (only for `ok`). */
  readonly revision?: number;
}

/** One event as a watcher received it, in the order received (across re-opened streams). */
export interface ObservedWatchEvent {
  readonly type: 'put' | 'delete';
  readonly key: string;
  /** The value after a put (undefined for a delete). */
  readonly value: string | undefined;
  /** The event's revision (its key-value's mod revision). */
  readonly revision: number;
  /** Which opening of the stream delivered it (0 for the first), for the evidence. */
  readonly stream: number;
}

/** What the watcher covered: writes are checked for a gap only up to `throughRevision`. */
export interface WatchCoverage {
  /** The first revision the watcher asked for (its first stream's start revision). */
  readonly fromRevision: number;
  /**
   * The highest revision the watcher is known to have been shown everything up to (the last
   * event's revision, or a later progress notification's).
   */
  readonly throughRevision: number;
  /** Keys the watcher watched (a prefix). */
  readonly prefix: string;
}

const describe = (event: ObservedWatchEvent, index: number): string =>
  `event ${index} (stream ${event.stream}): ${event.type} ${event.key}=${event.value ?? ''} at revision ${event.revision}`;

/**
 * No gap: every acknowledged write under the watched prefix, at a revision the watcher covered,
 * appears in the stream as a put of that key and value at the acknowledged revision.
 */
export function checkWatchNoGap(
  writes: readonly RegisterWrite[],
  events: readonly ObservedWatchEvent[],
  coverage: WatchCoverage,
): CheckReport {
  const seen = new Set(
    events.filter((event) => event.type === 'put').map((e) => `${e.revision}|${e.key}|${e.value}`),
  );
  let checked = 0;
  let beyond = 0;
  for (const write of writes) {
    if (write.outcome !== 'ok' || !write.key.startsWith(coverage.prefix)) continue;
    if (write.revision === undefined) {
      return {
        name: 'watch-no-gap',
        passed: false,
        detail: `the acknowledged write ${write.key}=${write.value} has no revision to look for`,
      };
    }
    if (write.revision < coverage.fromRevision) continue;
    if (write.revision > coverage.throughRevision) {
      beyond++;
      continue;
    }
    checked++;
    if (!seen.has(`${write.revision}|${write.key}|${write.value}`)) {
      return {
        name: 'watch-no-gap',
        passed: false,
        detail: `the acknowledged write ${write.key}=${write.value} at revision ${write.revision} is missing from the watch stream (${events.length} events, revisions ${coverage.fromRevision}-${coverage.throughRevision})`,
      };
    }
  }
  if (beyond > 0) {
    return {
      name: 'watch-no-gap',
      passed: false,
      detail: `the watcher got only to revision ${coverage.throughRevision}: ${beyond} acknowledged writes after it were never delivered (${checked} before it were)`,
    };
  }
  return {
    name: 'watch-no-gap',
    passed: true,
    detail: `all ${checked} acknowledged writes delivered (${events.length} events, revisions ${coverage.fromRevision}-${coverage.throughRevision})`,
  };
}

/**
 * No reorder: revisions never go back, the events of one revision arrive together (a revision
 * never recurs after a later one), and no event arrives twice.
 */
export function checkWatchInOrder(events: readonly ObservedWatchEvent[]): CheckReport {
  const delivered = new Set<string>();
  for (const [index, event] of events.entries()) {
    const previous = events[index - 1];
    if (previous !== undefined && event.revision < previous.revision) {
      return {
        name: 'watch-in-order',
        passed: false,
        detail: `${describe(event, index)} came after revision ${previous.revision}`,
      };
    }
    const identity = `${event.revision}|${event.key}`;
    if (delivered.has(identity)) {
      return {
        name: 'watch-in-order',
        passed: false,
        detail: `${describe(event, index)} was delivered twice`,
      };
    }
    delivered.add(identity);
  }
  return {
    name: 'watch-in-order',
    passed: true,
    detail: `${events.length} events in revision order, none twice`,
  };
}

/**
 * No phantom: every event is a put of a value some client wrote to that key and was not told
 * definitely failed (acknowledged or indeterminate), at the acknowledged revision if there was
 * one. The register workload deletes nothing, so a delete is a phantom too.
 */
export function checkWatchNoPhantom(
  writes: readonly RegisterWrite[],
  events: readonly ObservedWatchEvent[],
): CheckReport {
  const byKeyAndValue = new Map<string, RegisterWrite>();
  for (const write of writes) byKeyAndValue.set(`${write.key}|${write.value}`, write);
  for (const [index, event] of events.entries()) {
    const write =
      event.type === 'put' ? byKeyAndValue.get(`${event.key}|${event.value ?? ''}`) : undefined;
    const reason =
      event.type === 'delete'
        ? 'no client deletes'
        : write === undefined
          ? 'no client wrote that value to that key'
          : write.outcome === 'fail'
            ? 'its write was reported as definitely failed'
            : write.revision !== undefined && write.revision !== event.revision
              ? `its write was acknowledged at revision ${write.revision}`
              : undefined;
    if (reason !== undefined) {
      return {
        name: 'watch-no-phantom',
        passed: false,
        detail: `${describe(event, index)}: ${reason}`,
      };
    }
  }
  return {
    name: 'watch-no-phantom',
    passed: true,
    detail: `every one of ${events.length} events was written by a client`,
  };
}

/** The three watch checks of a run, in report order. */
export function checkWatchStream(
  writes: readonly RegisterWrite[],
  events: readonly ObservedWatchEvent[],
  coverage: WatchCoverage,
): CheckReport[] {
  return [
    checkWatchNoGap(writes, events, coverage),
    checkWatchInOrder(events),
    checkWatchNoPhantom(writes, events),
  ];
}
