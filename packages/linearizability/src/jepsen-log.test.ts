import { describe, expect, it } from 'vitest';
import { HistoryError } from './history-error.js';
import { parseJepsenLog } from './jepsen-log.js';

describe('parseJepsenLog', () => {
  it('reads tab- or space-separated event lines and skips other loggers and the nemesis', () => {
    const text = [
      'INFO  jepsen.core - Running test',
      'INFO  jepsen.util - 0\t:invoke\t:read\tnil',
      'INFO  jepsen.util - 1   :invoke :cas    [3 0]',
      'INFO  jepsen.util - :nemesis\t:info\t:start\tnil',
      'INFO  jepsen.util - 0\t:ok\t:read\tnil',
      'INFO  jepsen.util - 1\t:fail\t:cas\t[3 0]',
      'INFO  jepsen.util - 2\t:invoke\t:write\t4',
      'INFO  jepsen.util - 2\t:info\t:write\t:timed-out',
    ].join('\n');
    expect(parseJepsenLog(text)).toEqual([
      { process: 0, type: 'invoke', op: 'read', value: null },
      { process: 1, type: 'invoke', op: 'cas', value: [3, 0] },
      { process: 0, type: 'ok', op: 'read', value: null },
      { process: 1, type: 'fail', op: 'cas', value: [3, 0] },
      { process: 2, type: 'invoke', op: 'write', value: 4 },
      { process: 2, type: 'info', op: 'write' },
    ]);
  });

  it('reads an empty log as an empty history', () => {
    expect(parseJepsenLog('')).toEqual([]);
  });

  const errors: [string, string, RegExp][] = [
    ['a truncated line', 'INFO  jepsen.util - 0 :invoke', /^line 1: not a Jepsen event line/],
    [
      'an unknown operation',
      'INFO  jepsen.util - 0 :invoke :delete nil',
      /^line 1: unknown operation :delete/,
    ],
    ['an unknown type', 'INFO  jepsen.util - 0 :begin :read nil', /^line 1: unknown type :begin/],
    [
      'a bad value',
      '\nINFO  jepsen.util - 0 :invoke :write x',
      /^line 2: cannot read the value "x"/,
    ],
    ['a bad process', 'INFO  jepsen.util - p0 :invoke :read nil', /^line 1: process "p0"/],
    [
      'a completion with nothing pending',
      'INFO  jepsen.util - 0 :ok :read 1',
      /^line 1: process 0 completes/,
    ],
  ];
  it.each(errors)('names the line of %s', (_, text, message) => {
    expect(() => parseJepsenLog(text)).toThrow(HistoryError);
    expect(() => parseJepsenLog(text)).toThrow(message);
  });
});
