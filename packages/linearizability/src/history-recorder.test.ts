import { describe, expect, it } from 'vitest';
import { checkHistory } from './check.js';
import { HistoryRecorder } from './history-recorder.js';
import type { HistoryEvent } from './history.js';
import { parseJsonLines } from './json-lines.js';
import { registerModel } from './register-model.js';

function recorder(onEvent?: (event: HistoryEvent) => void) {
  let now = 0;
  const clock = { now: () => (now += 10) };
  return new HistoryRecorder(onEvent === undefined ? { clock } : { clock, onEvent });
}

describe('HistoryRecorder', () => {
  it('records invoke and completion with clock times, in order', () => {
    const seen: HistoryEvent[] = [];
    const history = recorder((event) => seen.push(event));
    const write = history.invoke(0, { op: 'write', key: 'x', value: 1 });
    const read = history.invoke(1, { op: 'read', key: 'x' });
    read.ok(1);
    write.ok();
    expect(history.events).toEqual([
      { process: 0, type: 'invoke', op: 'write', key: 'x', value: 1, time: 10 },
      { process: 1, type: 'invoke', op: 'read', key: 'x', time: 20 },
      { process: 1, type: 'ok', op: 'read', key: 'x', value: 1, time: 30 },
      { process: 0, type: 'ok', op: 'write', key: 'x', value: 1, time: 40 },
    ]);
    expect(seen).toEqual(history.events);
    expect(parseJsonLines(history.toJsonLines())).toEqual(history.events);
    expect(checkHistory(history.events, { model: registerModel() }).outcome).toBe('linearizable');
  });

  it('refuses a second operation on a busy process and a second settlement', () => {
    const history = recorder();
    const pending = history.invoke(0, { op: 'read' });
    expect(() => history.invoke(0, { op: 'read' })).toThrow(/already has an operation pending/);
    pending.fail();
    expect(() => pending.info()).toThrow(/already settled/);
    expect(() => history.invoke(0, { op: 'read' })).not.toThrow();
  });

  it('record() returns the result and records reads as ok with their value', async () => {
    const history = recorder();
    await expect(
      history.record(0, { op: 'read', key: 'k' }, () => Promise.resolve(7)),
    ).resolves.toBe(7);
    await history.record(0, { op: 'write', key: 'k', value: 8 }, () =>
      Promise.resolve({ revision: 3 }),
    );
    await history.record(0, { op: 'read' }, () => Promise.resolve({ found: 'v' }), {
      value: (r) => r.found,
    });
    expect(history.events.filter((e) => e.type === 'ok').map((e) => e.value)).toEqual([7, 8, 'v']);
  });

  it('record() rethrows errors, recording info unless told the failure is definite', async () => {
    const history = recorder();
    const timeout = new Error('timeout');
    await expect(
      history.record(0, { op: 'write', value: 1 }, () => Promise.reject(timeout)),
    ).rejects.toBe(timeout);
    const definite = new Error('not leader');
    await expect(
      history.record(1, { op: 'write', value: 2 }, () => Promise.reject(definite), {
        error: () => 'fail',
      }),
    ).rejects.toBe(definite);
    expect(history.events.map((e) => `${e.process}:${e.type}:${String(e.value)}`)).toEqual([
      '0:invoke:1',
      '0:info:1',
      '1:invoke:2',
      '1:fail:2',
    ]);
  });
});
