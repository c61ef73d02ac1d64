import type { CheckResult, HistoryEvent } from '@x/linearizability';
import { checkHistory, registerModel } from '@x/linearizability';
import { createHash } from 'node:crypto';
import type { KeyValue } from './etcd-json-client.js';
import type { PoisonCounts, PoisonResult } from './poison-workload.js';
import type { SetWorkloadResult } from './set-workload.js';

/** The verdict of one check of a run. */
export interface CheckReport {
  readonly name: string;
  readonly passed: boolean;
  /** One line for people: what was checked and, on failure, the first evidence. */
  readonly detail: string;
}

/**
 * Linearizability of the register history, key by key. `unknown` (budget exhausted) is a
 * failure: nothing was proven.
 */
export function checkLinearizable(
  events: readonly HistoryEvent[],
  stepBudget = 20_000_000,
): { report: CheckReport; result: CheckResult } {
  const result = checkHistory(events, { model: registerModel(), stepBudget });
  const { operations, keys, steps } = result.statistics;
  const scope = `${operations} operations on ${keys} keys, ${steps} search steps`;
  const detail =
    result.outcome === 'linearizable'
      ? `linearizable (${scope})`
      : result.outcome === 'not-linearizable'
        ? `NOT linearizable on key ${result.key} (${scope})`
        : `unknown: ${result.reason} exhausted on key ${result.key} (${scope})`;
  return {
    report: { name: 'linearizable', passed: result.outcome === 'linearizable', detail },
    result,
  };
}

/**
 * No write visible after a definite failure: a value whose write (or compare-and-set) was told
 * `fail` must never be read. Written values are unique, so reading one proves it was applied.
 */
export function checkNoFailedWriteVisible(events: readonly HistoryEvent[]): CheckReport {
  const failedValues = new Map<string, Set<unknown>>();
  const written = (event: HistoryEvent): unknown =>
    event.op === 'cas' && Array.isArray(event.value) ? (event.value as unknown[])[1] : event.value;
  for (const event of events) {
    if (event.type !== 'fail' || (event.op !== 'write' && event.op !== 'cas')) continue;
    const key = event.key ?? '';
    const values = failedValues.get(key) ?? new Set();
    values.add(written(event));
    failedValues.set(key, values);
  }
  for (const [index, event] of events.entries()) {
    if (event.type !== 'ok' || event.op !== 'read' || event.value === null) continue;
    if (failedValues.get(event.key ?? '')?.has(event.value) === true) {
      return {
        name: 'no-failed-write-visible',
        passed: false,
        detail: `event ${index}: read of ${event.key ?? ''} returned ${String(event.value)}, whose write was reported as definitely failed`,
      };
    }
  }
  const count = [...failedValues.values()].reduce((sum, values) => sum + values.size, 0);
  return {
    name: 'no-failed-write-visible',
    passed: true,
    detail: `none of ${count} values whose write definitely failed was read (including compare-and-sets whose comparison failed)`,
  };
}

/**
 * The set workload's final reads: every node holds every acknowledged key (no acknowledged write
 * lost) and no key whose put definitely failed.
 */
export function checkSetReads(
  set: SetWorkloadResult,
  keysByNode: ReadonlyMap<string, ReadonlySet<string> | Error>,
): CheckReport[] {
  const lost: string[] = [];
  const visible: string[] = [];
  for (const [node, keys] of keysByNode) {
    if (keys instanceof Error) {
      lost.push(`${node}: final read failed (${keys.message})`);
      continue;
    }
    const missing = set.acknowledged.filter((key) => !keys.has(key));
    if (missing.length > 0) {
      lost.push(`${node} lacks ${missing.length} (first ${missing.slice(0, 3).join(', ')})`);
    }
    const present = set.failed.filter((key) => keys.has(key));
    if (present.length > 0) {
      visible.push(`${node} holds ${present.length} (first ${present.slice(0, 3).join(', ')})`);
    }
  }
  return [
    {
      name: 'no-acknowledged-write-lost',
      passed: lost.length === 0,
      detail:
        lost.length === 0
          ? `all ${set.acknowledged.length} acknowledged set keys on every node`
          : `acknowledged keys lost: ${lost.join('; ')}`,
    },
    {
      name: 'no-failed-set-write-visible',
      passed: visible.length === 0,
      detail:
        visible.length === 0
          ? `none of ${set.failed.length} definitely failed set keys on any node`
          : `definitely failed keys present: ${visible.join('; ')}`,
    },
  ];
}

/** A digest of a node's whole state (keys, values and mod revisions, in key order). */
export function stateHash(kvs: readonly KeyValue[]): string {
  const hash = createHash('sha256');
  for (const kv of [...kvs].sort((left, right) =>
    left.key < right.key ? -1 : left.key > right.key ? 1 : 0,
  )) {
    hash.update(`${kv.key}\u0000${kv.value}\u0000${kv.modRevision}\u0001`);
  }
  return hash.digest('hex').slice(0, 16);
}

/** Every node's state hash is the same after the heal. */
export function checkStateHashes(hashes: ReadonlyMap<string, string | Error>): CheckReport {
  const distinct = new Set(
    [...hashes.values()].map((hash) => (hash instanceof Error ? 'error' : hash)),
  );
  const listing = [...hashes]
    .map(([node, hash]) => `${node}=${hash instanceof Error ? `error (${hash.message})` : hash}`)
    .join(' ');
  return {
    name: 'state-hashes-equal',
    passed: distinct.size === 1 && !distinct.has('error'),
    detail: listing,
  };
}

/** A write succeeded within `limitMs` of the final heal. */
export function checkWriteAfterHeal(elapsedMs: number | undefined, limitMs = 5000): CheckReport {
  return {
    name: 'write-after-heal',
    passed: elapsedMs !== undefined && elapsedMs <= limitMs,
    detail:
      elapsedMs === undefined
        ? `no write succeeded within ${limitMs} ms of the final heal`
        : `first write after the heal took ${Math.round(elapsedMs)} ms (limit ${limitMs} ms)`,
  };
}

/**
 * Every membership change a fault asked for was accepted and completed (a member replaced, or
 * removed and added back, and promoted).
 * @param failures one line per change that was refused or not completed in time.
 * @param completed how many changes completed.
 */
export function checkMembershipChanges(
  failures: readonly string[],
  completed: number,
): CheckReport {
  return {
    name: 'membership-changes',
    passed: failures.length === 0,
    detail:
      failures.length === 0
        ? `${completed} membership changes completed (each member added was promoted)`
        : `${failures.length} change(s) failed; first: ${failures[0]}`,
  };
}

/**
 * Every poison request got its expected answer whenever it got a verdict at all: none was
 * accepted or wrongly refused, and no kind sent at least `minimumSent` times went without a
 * single expected answer (which would mean it is never answered, e.g. a 413 the client cannot
 * read because the connection closes first).
 */
export function checkPoisonAnswered(poison: PoisonResult, minimumSent = 5): CheckReport {
  const entries = Object.entries<PoisonCounts>(poison.byKind);
  const sent = entries.reduce((sum, [, counts]) => sum + counts.sent, 0);
  const expected = entries.reduce((sum, [, counts]) => sum + counts.expected, 0);
  const wrong = entries.reduce((sum, [, counts]) => sum + counts.wrong, 0);
  const neverAnswered = entries
    .filter(([, counts]) => counts.sent >= minimumSent && counts.expected === 0)
    .map(([kind, counts]) => `${kind} (${counts.sent} sent)`);
  const problems = [
    ...(wrong > 0 ? [`${wrong} wrong answers: ${poison.wrongAnswers.slice(0, 3).join('; ')}`] : []),
    ...(neverAnswered.length > 0
      ? [`never answered as expected: ${neverAnswered.join(', ')}`]
      : []),
  ];
  return {
    name: 'poison-refused',
    passed: problems.length === 0,
    detail:
      problems.length === 0
        ? `${expected} of ${sent} poison requests (${entries.length} kinds) got their expected answer, ${sent - expected} unanswered during faults, none wrong`
        : problems.join('; '),
  };
}

/**
 * No member exited by itself: every exit was the nemesis's doing (a kill, or a fail-stop it
 * caused on purpose, such as a full disk). A member that dies of what a client or a peer link
 * sent it (a poison request, a tampered frame) fails the run even when the cluster recovers.
 */
export function checkNoUnexpectedExit(
  exits: readonly { node: string; code: number | null; signal: string | null }[],
): CheckReport {
  return {
    name: 'no-unexpected-exit',
    passed: exits.length === 0,
    detail:
      exits.length === 0
        ? 'every member exit was caused by a fault'
        : `${exits.length === 1 ? '1 member exited by itself' : `${exits.length} members exited by themselves`}: ${exits
            .slice(0, 3)
            .map((exit) => `${exit.node} (code ${exit.code}, signal ${exit.signal})`)
            .join(', ')}; see their logs`,
  };
}
