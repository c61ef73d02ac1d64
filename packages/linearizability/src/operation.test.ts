import { describe, expect, it } from 'vitest';
import type { HistoryEvent } from './history.js';
import { HistoryError } from './history-error.js';
import { toOperations } from './operation.js';

describe('toOperations', () => {
  it('pairs invokes with completions in invoke order, with indexes and times', () => {
    const operations = toOperations([
      { process: 'a', type: 'invoke', op: 'write', key: 'x', value: 1, time: 1 },
      { process: 'b', type: 'invoke', op: 'read', key: 'x', time: 2 },
      { process: 'b', type: 'ok', op: 'read', key: 'x', value: 1, time: 3 },
      { process: 'a', type: 'ok', op: 'write', key: 'x', time: 4 },
    ]);
    expect(operations).toEqual([
      {
        id: 0,
        process: 'a',
        op: 'write',
        key: 'x',
        input: 1,
        output: null,
        status: 'ok',
        invokeIndex: 0,
        completeIndex: 3,
        invokeTime: 1,
        completeTime: 4,
      },
      {
        id: 1,
        process: 'b',
        op: 'read',
        key: 'x',
        input: null,
        output: 1,
        status: 'ok',
        invokeIndex: 1,
        completeIndex: 2,
        invokeTime: 2,
        completeTime: 3,
      },
    ]);
  });

  it('keeps indeterminate writes open forever and drops failures and unknown reads', () => {
    const operations = toOperations([
      { process: 0, type: 'invoke', op: 'write', value: 1 },
      { process: 0, type: 'info', op: 'write' },
      { process: 0, type: 'invoke', op: 'cas', value: [1, 2] },
      { process: 0, type: 'fail', op: 'cas' },
      { process: 0, type: 'invoke', op: 'read' },
      { process: 0, type: 'info', op: 'read' },
      { process: 1, type: 'invoke', op: 'write', value: 3 },
      { process: 2, type: 'invoke', op: 'read' },
    ]);
    expect(operations.map((o) => [o.op, o.status, o.completeIndex])).toEqual([
      ['write', 'info', Infinity],
      ['write', 'info', Infinity],
    ]);
  });

  const errors: [string, HistoryEvent[], RegExp][] = [
    [
      'a second invoke while one is pending',
      [
        { process: 0, type: 'invoke', op: 'read' },
        { process: 0, type: 'invoke', op: 'read' },
      ],
      /event 1: process 0 invokes read while its read \(event 0\) is pending/,
    ],
    [
      'a completion with nothing pending',
      [{ process: 0, type: 'ok', op: 'read' }],
      /event 0: process 0 completes read but has nothing pending/,
    ],
    [
      'a completion of another operation',
      [
        { process: 0, type: 'invoke', op: 'read' },
        { process: 0, type: 'ok', op: 'write' },
      ],
      /completes write "" but invoked read ""/,
    ],
    [
      'a completion on another key',
      [
        { process: 0, type: 'invoke', op: 'read', key: 'a' },
        { process: 0, type: 'ok', op: 'read', key: 'b' },
      ],
      /completes read "b" but invoked read "a"/,
    ],
    [
      'time going backwards',
      [
        { process: 0, type: 'invoke', op: 'read', time: 5 },
        { process: 0, type: 'ok', op: 'read', time: 4 },
      ],
      /event 1: time 4 is before 5/,
    ],
    ['an unknown type', [{ process: 0, type: 'done' as 'ok', op: 'read' }], /unknown type "done"/],
    [
      'an unknown op',
      [{ process: 0, type: 'invoke', op: 'delete' as 'read' }],
      /unknown op "delete"/,
    ],
    [
      'a cas without a pair',
      [{ process: 0, type: 'invoke', op: 'cas', value: 1 }],
      /cas invoke needs/,
    ],
    [
      'an object value',
      [{ process: 0, type: 'invoke', op: 'write', value: {} as never }],
      /"value" must be/,
    ],
    [
      'a bad process',
      [{ process: null as never, type: 'invoke', op: 'read' }],
      /"process" must be/,
    ],
  ];
  it.each(errors)('rejects %s', (_, history, message) => {
    expect(() => toOperations(history)).toThrow(HistoryError);
    expect(() => toOperations(history)).toThrow(message);
  });
});
