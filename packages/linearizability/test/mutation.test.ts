import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { HistoryEvent, Scalar } from '../src/index.js';
import { checkHistory, keyValueModel, registerModel } from '../src/index.js';
import { bruteForceLinearizable } from './brute-force-oracle.js';
import type { GeneratedOperation } from './generate-history.js';
import { execute, generateHistory, toHistory } from './generate-history.js';
import { seededRandom } from './seeded-random.js';

const register = registerModel();
const isLinearizable = (history: readonly HistoryEvent[]) =>
  checkHistory(history, { model: register }).outcome === 'linearizable';

/** Makes one acknowledged read return a value the register held before the read took effect. */
function staleRead(
  operations: GeneratedOperation[],
  random: () => number,
): HistoryEvent[] | undefined {
  const reads = operations.filter((o) => o.op === 'read' && o.complete !== Infinity);
  const read = reads[Math.floor(random() * reads.length)];
  if (read === undefined) return undefined;
  const earlier: Scalar[] = [null];
  for (const o of [...operations].sort((a, b) => a.point - b.point)) {
    if (o.point >= read.point) break;
    if (o.applied && o.op === 'write') earlier.push(o.input as Scalar);
    if (o.applied && o.op === 'cas') earlier.push((o.input as [Scalar, Scalar])[1]);
  }
  const stale = [...new Set(earlier)].filter((value) => value !== read.output);
  if (stale.length === 0) return undefined;
  const original = read.output;
  read.output = stale[Math.floor(random() * stale.length)]!;
  const history = toHistory(operations);
  read.output = original;
  return history;
}

/** Makes one acknowledged write have no effect, as if the store lost it, and re-runs the rest. */
function lostWrite(
  operations: GeneratedOperation[],
  random: () => number,
): HistoryEvent[] | undefined {
  const writes = operations.filter((o) => o.op === 'write' && !o.indeterminate);
  const write = writes[Math.floor(random() * writes.length)];
  if (write === undefined) return undefined;
  execute(operations, 'register', write);
  const history = toHistory(operations);
  execute(operations, 'register');
  return history;
}

describe('generated register histories (1,000, from real sequential executions)', () => {
  it('are all accepted, and one stale read or lost write is caught whenever it is observable', () => {
    const tally = { accepted: 0, observable: 0, caught: 0, unobservable: 0, falseAlarms: 0 };
    for (let seed = 1; seed <= 1000; seed++) {
      const random = seededRandom(seed);
      const { operations, history } = generateHistory(random, {
        processes: 2 + Math.floor(random() * 3),
        operations: 5 + Math.floor(random() * 8),
        model: 'register',
        values: 3,
      });
      expect(bruteForceLinearizable(history), `oracle, seed ${seed}`).toBe(true);
      if (isLinearizable(history)) tally.accepted++;
      for (const mutated of [staleRead(operations, random), lostWrite(operations, random)]) {
        if (mutated === undefined) continue;
        // Observable: no linearization exists, according to the exhaustive oracle.
        const observable = !bruteForceLinearizable(mutated);
        const caught = !isLinearizable(mutated);
        if (observable) tally.observable++;
        else tally.unobservable++;
        if (observable && caught) tally.caught++;
        if (!observable && caught) tally.falseAlarms++;
      }
    }
    console.info('mutation tally', tally, 'catch rate', tally.caught / tally.observable);
    expect(tally.accepted).toBe(1000);
    expect(tally.observable).toBeGreaterThan(500);
    expect(tally.caught / tally.observable).toBeGreaterThanOrEqual(0.99);
    expect(tally.falseAlarms).toBe(0);
  });

  it('agree with the brute-force oracle on arbitrary small histories (valid or not)', () => {
    const value = fc.constantFrom<Scalar>(null, 0, 1, 2);
    const step = fc.record({
      process: fc.integer({ min: 0, max: 3 }),
      op: fc.constantFrom<'read' | 'write' | 'cas'>('read', 'write', 'cas'),
      input: fc.tuple(value, value),
      output: value,
      outcome: fc.constantFrom<'ok' | 'fail' | 'info' | 'pending'>(
        'ok',
        'ok',
        'ok',
        'fail',
        'info',
        'pending',
      ),
      completeFirst: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 12 }), (steps) => {
        // Interleave: each step invokes on its process (completing the previous one first).
        const history: HistoryEvent[] = [];
        const pending = new Map<number, HistoryEvent[]>();
        const flush = (process: number) => {
          history.push(...(pending.get(process) ?? []));
          pending.delete(process);
        };
        for (const s of steps) {
          flush(s.process);
          if (s.completeFirst) for (const process of [...pending.keys()]) flush(process);
          const op = s.op;
          const input = op === 'read' ? {} : { value: op === 'cas' ? s.input : s.input[0] };
          history.push({ process: s.process, type: 'invoke', op, ...input });
          if (s.outcome === 'pending') continue;
          const type = s.outcome;
          pending.set(s.process, [
            { process: s.process, type, op, ...(op === 'read' ? { value: s.output } : input) },
          ]);
        }
        for (const process of [...pending.keys()]) flush(process);
        // A process whose last invoke stays pending must not invoke again: drop such histories.
        fc.pre(isWellFormed(history));
        expect(isLinearizable(history)).toBe(bruteForceLinearizable(history));
      }),
      { numRuns: 1000, seed: 6 },
    );
  });
});

function isWellFormed(history: readonly HistoryEvent[]): boolean {
  const open = new Set<unknown>();
  for (const event of history) {
    if (event.type === 'invoke') {
      if (open.has(event.process)) return false;
      open.add(event.process);
    } else open.delete(event.process);
  }
  return true;
}

describe('generated key-value histories', () => {
  it('200 larger multi-key histories with indeterminate operations are accepted', () => {
    const model = keyValueModel();
    for (let seed = 1; seed <= 200; seed++) {
      const random = seededRandom(seed * 7919);
      const { history } = generateHistory(random, {
        processes: 6,
        operations: 150,
        model: 'kv',
        keys: 4,
        indeterminate: 0.05,
      });
      expect(checkHistory(history, { model }).outcome, `seed ${seed}`).toBe('linearizable');
    }
  });
});
