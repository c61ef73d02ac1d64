import { describe, expect, it } from 'vitest';
import { checkHistory, checkOperations, partitionByKey } from './check.js';
import type { HistoryEvent } from './history.js';
import { HistoryError } from './history-error.js';
import { keyValueModel } from './key-value-model.js';
import { toOperations } from './operation.js';
import { registerModel } from './register-model.js';

const register = registerModel();
type Event = HistoryEvent;
const invoke = (process: number, op: Event['op'], value?: Event['value'], key?: string): Event => ({
  process,
  type: 'invoke',
  op,
  ...(value === undefined ? {} : { value }),
  ...(key === undefined ? {} : { key }),
});
const done = (
  process: number,
  type: Event['type'],
  op: Event['op'],
  value?: Event['value'],
  key?: string,
): Event => ({
  process,
  type,
  op,
  ...(value === undefined ? {} : { value }),
  ...(key === undefined ? {} : { key }),
});
const outcome = (history: Event[], initialValue: number | null = null) =>
  checkHistory(history, { model: registerModel({ initialValue }) }).outcome;

describe('checkHistory with the register model', () => {
  it('accepts the empty history', () => {
    expect(outcome([])).toBe('linearizable');
  });

  it('accepts a read concurrent with a write returning either value', () => {
    for (const read of [null, 1]) {
      const history = [
        invoke(0, 'write', 1),
        invoke(1, 'read'),
        done(1, 'ok', 'read', read),
        done(0, 'ok', 'write', 1),
      ];
      expect(outcome(history)).toBe('linearizable');
    }
  });

  it('rejects a stale read after a completed write', () => {
    const history = [
      invoke(0, 'write', 1),
      done(0, 'ok', 'write', 1),
      invoke(1, 'read'),
      done(1, 'ok', 'read', null),
    ];
    const result = checkHistory(history, { model: register });
    expect(result.outcome).toBe('not-linearizable');
    if (result.outcome !== 'not-linearizable') return;
    expect(result.key).toBe('');
    expect(result.failingOperation.op).toBe('read');
    expect(result.linearizablePrefix.map((o) => o.op)).toEqual(['write']);
    expect(result.stateAfterPrefix).toBe('1');
    expect(result.timeline).toContain('read → nil');
    expect(result.timeline).toContain('cannot be linearized');
    expect(result.keyOperations).toHaveLength(2);
  });

  it('honours the initial value', () => {
    const history = [invoke(0, 'read'), done(0, 'ok', 'read', 0)];
    expect(outcome(history, 0)).toBe('linearizable');
    expect(outcome(history)).toBe('not-linearizable');
  });

  it('drops failed operations: a failed write is never visible', () => {
    const history = [
      invoke(0, 'write', 1),
      done(0, 'fail', 'write', 1),
      invoke(1, 'read'),
      done(1, 'ok', 'read', 1),
    ];
    expect(outcome(history)).toBe('not-linearizable');
  });

  it('lets an indeterminate write take effect long after its invoke', () => {
    const history = [
      invoke(0, 'write', 1),
      done(0, 'info', 'write'),
      invoke(1, 'read'),
      done(1, 'ok', 'read', null),
      invoke(1, 'read'),
      done(1, 'ok', 'read', 1),
    ];
    expect(outcome(history)).toBe('linearizable');
  });

  it('lets an indeterminate write never take effect, also when it never completed', () => {
    for (const completion of [[done(0, 'info', 'write')], []]) {
      const history = [
        invoke(0, 'write', 1),
        ...completion,
        invoke(1, 'read'),
        done(1, 'ok', 'read', null),
      ];
      expect(outcome(history)).toBe('linearizable');
    }
  });

  it('does not let an indeterminate write take effect before its invoke', () => {
    const history = [
      invoke(1, 'read'),
      done(1, 'ok', 'read', 1),
      invoke(0, 'write', 1),
      done(0, 'info', 'write'),
    ];
    expect(outcome(history)).toBe('not-linearizable');
  });

  it('ignores reads with unknown outcomes', () => {
    const history = [
      invoke(0, 'read'),
      done(0, 'info', 'read'),
      invoke(1, 'read'),
      done(1, 'fail', 'read'),
    ];
    expect(outcome(history)).toBe('linearizable');
  });

  it('applies an acknowledged cas only if the register held the expected value', () => {
    const ok = [
      invoke(0, 'cas', [null, 2]),
      done(0, 'ok', 'cas', [null, 2]),
      invoke(1, 'read'),
      done(1, 'ok', 'read', 2),
    ];
    expect(outcome(ok)).toBe('linearizable');
    const wrong = [invoke(0, 'cas', [5, 2]), done(0, 'ok', 'cas', [5, 2])];
    expect(outcome(wrong)).toBe('not-linearizable');
  });

  it('lets an indeterminate cas apply or do nothing', () => {
    const applied = [
      invoke(0, 'cas', [null, 2]),
      done(0, 'info', 'cas'),
      invoke(1, 'read'),
      done(1, 'ok', 'read', 2),
    ];
    expect(outcome(applied)).toBe('linearizable');
    const mismatched = [
      invoke(0, 'cas', [7, 2]),
      done(0, 'info', 'cas'),
      invoke(1, 'read'),
      done(1, 'ok', 'read', null),
    ];
    expect(outcome(mismatched)).toBe('linearizable');
  });

  it('checks keys independently and names the failing key', () => {
    const history = [
      invoke(0, 'write', 1, 'a'),
      done(0, 'ok', 'write', 1, 'a'),
      invoke(0, 'read', undefined, 'b'),
      done(0, 'ok', 'read', 1, 'b'),
    ];
    const result = checkHistory(history, { model: register });
    expect(result.outcome === 'not-linearizable' && result.key).toBe('b');
    expect(result.statistics.keys).toBe(2);
  });

  it('reports a key that fails fast even when another key would take long', () => {
    // Key "slow": many concurrent writes and reads that cannot be ordered; key "fast": one stale read.
    const history: Event[] = [];
    for (let p = 0; p < 12; p++) history.push(invoke(p, 'write', p, 'slow'));
    for (let p = 0; p < 12; p++) history.push(done(p, 'ok', 'write', p, 'slow'));
    for (let p = 0; p < 12; p++) history.push(invoke(p, 'read', undefined, 'slow'));
    for (let p = 0; p < 12; p++) history.push(done(p, 'ok', 'read', p, 'slow'));
    history.push(invoke(20, 'write', 1, 'fast'), done(20, 'ok', 'write', 1, 'fast'));
    history.push(invoke(20, 'read', undefined, 'fast'), done(20, 'ok', 'read', 2, 'fast'));
    const result = checkHistory(history, { model: register });
    expect(result.outcome === 'not-linearizable' && result.key).toBe('fast');
  });

  it('is deterministic', () => {
    const history = [
      invoke(0, 'write', 1),
      invoke(1, 'write', 2),
      done(0, 'ok', 'write', 1),
      done(1, 'ok', 'write', 2),
      invoke(2, 'read'),
      done(2, 'ok', 'read', 3),
    ];
    expect(checkHistory(history, { model: register })).toEqual(
      checkHistory(history, { model: register }),
    );
  });
});

describe('budgets', () => {
  const hard: Event[] = [];
  for (let p = 0; p < 10; p++) hard.push(invoke(p, 'write', p));
  for (let p = 0; p < 10; p++) hard.push(done(p, 'ok', 'write', p));
  for (let p = 0; p < 10; p++) hard.push(invoke(p, 'read'));
  for (let p = 0; p < 10; p++) hard.push(done(p, 'ok', 'read', p));

  it('answers unknown when the step budget runs out', () => {
    const result = checkHistory(hard, { model: register, stepBudget: 100 });
    expect(result).toMatchObject({ outcome: 'unknown', reason: 'step-budget', key: '' });
    expect(result.statistics.steps).toBe(100);
  });

  it('answers unknown when the time budget runs out on the injected clock', () => {
    let calls = 0;
    const clock = { now: () => (calls++ === 0 ? 0 : 1000) };
    const result = checkHistory(hard, { model: register, clock, timeBudgetMs: 50 });
    expect(result).toMatchObject({ outcome: 'unknown', reason: 'time-budget' });
  });

  it('does not explode on many open indeterminate writes that no read can use', () => {
    // Linearized indeterminate operations are compared by inclusion in the visited set.
    const history: Event[] = [];
    for (let p = 0; p < 12; p++) history.push(invoke(p, 'write', p));
    history.push(invoke(99, 'read'), done(99, 'ok', 'read', 'never written'));
    const result = checkHistory(history, { model: register });
    expect(result.outcome).toBe('not-linearizable');
  });

  it('finishes within a generous budget', () => {
    const result = checkHistory(hard, { model: register });
    expect(result.outcome).toBe('not-linearizable');
    expect(result.statistics.steps).toBeGreaterThan(2048); // so the time budget above is consulted
  });

  it('needs a clock for a time budget', () => {
    expect(() => checkHistory([], { model: register, timeBudgetMs: 5 })).toThrow(TypeError);
  });
});

describe('checkOperations', () => {
  it('rejects operations the model does not know', () => {
    const operations = toOperations([invoke(0, 'get'), done(0, 'ok', 'get', '')]);
    expect(() => checkOperations(operations, { model: register })).toThrow(HistoryError);
    expect(checkOperations(operations, { model: keyValueModel() }).outcome).toBe('linearizable');
  });

  it('asks the model to validate operations before searching', () => {
    const badPut = [
      { process: 0, type: 'invoke', op: 'put', key: 'k', value: 5 },
      { process: 0, type: 'ok', op: 'put', key: 'k' },
    ] as const;
    expect(() => checkHistory(badPut, { model: keyValueModel() })).toThrow(
      /event 0: put needs a string argument/,
    );
    const badWrite = [{ process: 0, type: 'invoke', op: 'write', value: [1, 2] }] as const;
    expect(() => checkHistory(badWrite, { model: register })).toThrow(/write needs a single value/);
    const badRead = [invoke(0, 'read'), done(0, 'ok', 'read', [1, 2])];
    expect(() => checkHistory(badRead, { model: register })).toThrow(/read returns a single value/);
  });

  it('partitions by key in order of first invoke', () => {
    const operations = toOperations([
      invoke(0, 'write', 1, 'b'),
      done(0, 'ok', 'write', 1, 'b'),
      invoke(0, 'write', 1, 'a'),
      done(0, 'ok', 'write', 1, 'a'),
    ]);
    expect([...partitionByKey(operations).keys()]).toEqual(['b', 'a']);
  });
});

describe('the text timeline', () => {
  it('shortens long states and operation descriptions', () => {
    const long = 'x'.repeat(500);
    const history: Event[] = [
      { process: 0, type: 'invoke', op: 'put', key: 'k', value: long },
      { process: 0, type: 'ok', op: 'put', key: 'k' },
      { process: 1, type: 'invoke', op: 'get', key: 'k' },
      { process: 1, type: 'ok', op: 'get', key: 'k', value: long + 'y' },
    ];
    const result = checkHistory(history, { model: keyValueModel() });
    if (result.outcome !== 'not-linearizable') throw new Error('expected a failure');
    expect(result.stateAfterPrefix).toBe(JSON.stringify(long));
    for (const line of result.timeline.split('\n')) expect(line.length).toBeLessThan(300);
    expect(result.timeline).toContain('…');
  });

  it('keeps at most 24 operations around the failing one', () => {
    const history: Event[] = [];
    history.push(invoke(99, 'read'));
    for (let p = 0; p < 30; p++) history.push(invoke(p, 'write', p), done(p, 'ok', 'write', p));
    history.push(done(99, 'ok', 'read', 'never written'));
    const result = checkHistory(history, { model: register });
    if (result.outcome !== 'not-linearizable') throw new Error('expected a failure');
    const rows = result.timeline.split('\n').slice(6);
    expect(rows).toHaveLength(24);
    expect(rows.some((row) => row.startsWith('! 99'))).toBe(true);
  });
});
