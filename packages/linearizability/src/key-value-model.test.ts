import { describe, expect, it } from 'vitest';
import { checkHistory } from './check.js';
import type { HistoryEvent } from './history.js';
import { keyValueModel } from './key-value-model.js';
import { toOperations } from './operation.js';

const model = keyValueModel();
const event = (
  process: number,
  type: HistoryEvent['type'],
  op: HistoryEvent['op'],
  key: string,
  value?: string,
): HistoryEvent => ({
  process,
  type,
  op,
  key,
  ...(value === undefined ? {} : { value }),
});

describe('keyValueModel', () => {
  it('reads the empty string before any write, and appends concatenate', () => {
    const history = [
      event(0, 'invoke', 'get', 'k'),
      event(0, 'ok', 'get', 'k', ''),
      event(0, 'invoke', 'append', 'k', 'ab'),
      event(0, 'ok', 'append', 'k', 'ab'),
      event(1, 'invoke', 'append', 'k', 'c'),
      event(1, 'ok', 'append', 'k', 'c'),
      event(0, 'invoke', 'get', 'k'),
      event(0, 'ok', 'get', 'k', 'abc'),
      event(0, 'invoke', 'put', 'k', 'x'),
      event(0, 'ok', 'put', 'k', 'x'),
      event(0, 'invoke', 'get', 'k'),
      event(0, 'ok', 'get', 'k', 'x'),
    ];
    expect(checkHistory(history, { model }).outcome).toBe('linearizable');
  });

  it('rejects appends seen in the wrong order', () => {
    const history = [
      event(0, 'invoke', 'append', 'k', 'a'),
      event(0, 'ok', 'append', 'k', 'a'),
      event(0, 'invoke', 'append', 'k', 'b'),
      event(0, 'ok', 'append', 'k', 'b'),
      event(1, 'invoke', 'get', 'k'),
      event(1, 'ok', 'get', 'k', 'ba'),
    ];
    expect(checkHistory(history, { model }).outcome).toBe('not-linearizable');
  });

  it('keeps hashes consistent between put and append', () => {
    const [append, put] = toOperations([
      event(0, 'invoke', 'append', 'k', 'b'),
      event(0, 'ok', 'append', 'k', 'b'),
      event(0, 'invoke', 'put', 'k', 'ab'),
      event(0, 'ok', 'put', 'k', 'ab'),
    ]);
    const viaAppend = model.step(
      { value: 'a', hash: model.step(model.initial(), { ...put!, input: 'a' })!.hash },
      append!,
    )!;
    const viaPut = model.step(model.initial(), put!)!;
    expect(model.equal(viaAppend, viaPut)).toBe(true);
    expect(model.hash(viaAppend)).toBe(model.hash(viaPut));
    expect(model.describeState(viaPut)).toBe('"ab"');
    expect(model.describeOperation(append!)).toBe('append "b" ok');
  });

  it('refuses register operations', () => {
    const [write] = toOperations([
      { process: 0, type: 'invoke', op: 'write', value: 1 },
      { process: 0, type: 'ok', op: 'write' },
    ]);
    expect(() => model.step(model.initial(), write!)).toThrow(TypeError);
  });
});
