import { describe, expect, it } from 'vitest';
import type { HistoryEvent } from './history.js';
import { HistoryError } from './history-error.js';
import { formatJsonLines, parseJsonLines } from './json-lines.js';

const events: HistoryEvent[] = [
  { process: 0, type: 'invoke', op: 'cas', key: 'x', value: [null, 2], time: 1.5 },
  { process: 0, type: 'ok', op: 'cas', key: 'x', value: [null, 2], time: 2 },
  { process: 'client-1', type: 'invoke', op: 'read', key: 'x', time: 3 },
];

describe('JSON lines', () => {
  it('round-trips events and skips blank lines', () => {
    const text = formatJsonLines(events);
    expect(text.split('\n')).toHaveLength(4);
    expect(parseJsonLines(`\n${text}\n\n`)).toEqual(events);
  });

  const errors: [string, string, RegExp, number][] = [
    [
      'broken JSON',
      '{"process":0,"type":"invoke","op":"read"}\n{"process":',
      /^line 2: not JSON/,
      2,
    ],
    ['a non-object', '\n[1,2]', /^line 2: expected a JSON object/, 2],
    [
      'an unknown field',
      '{"process":0,"type":"invoke","op":"read","vaule":1}',
      /^line 1: unknown field "vaule"/,
      1,
    ],
    ['an unknown op', '{"process":0,"type":"invoke","op":"reed"}', /^line 1: unknown op "reed"/, 1],
    [
      'a completion with nothing pending',
      '{"process":0,"type":"invoke","op":"read"}\n\n{"process":1,"type":"ok","op":"read"}',
      /^line 3: process 1 completes read but has nothing pending/,
      3,
    ],
    [
      'a double invoke',
      '{"process":0,"type":"invoke","op":"read"}\n{"process":0,"type":"invoke","op":"read"}',
      /^line 2: .*\(line 1\) is pending/,
      2,
    ],
  ];
  it.each(errors)('names the line of %s', (_, text, message, line) => {
    let caught: unknown;
    try {
      parseJsonLines(text);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(HistoryError);
    expect((caught as HistoryError).message).toMatch(message);
    expect((caught as HistoryError).line).toBe(line);
  });
});
