import { describe, expect, it } from 'vitest';
import { parseEdnHistory } from './edn-history.js';
import { HistoryError } from './history-error.js';

describe('parseEdnHistory', () => {
  it('reads the kv corpus lines', () => {
    const text = [
      '{:process 0, :type :invoke, :f :append, :key "0", :value "x 0 0 y"}',
      '{:process 0, :type :ok, :f :append, :key "0", :value "x 0 0 y"}',
      '{:process 1, :type :invoke, :f :get, :key "0", :value nil}',
      '{:process 1, :type :ok, :f :get, :key "0", :value "x \\"0\\" 0 y\\n"}',
    ].join('\n');
    expect(parseEdnHistory(text)).toEqual([
      { process: 0, type: 'invoke', op: 'append', key: '0', value: 'x 0 0 y' },
      { process: 0, type: 'ok', op: 'append', key: '0', value: 'x 0 0 y' },
      { process: 1, type: 'invoke', op: 'get', key: '0', value: null },
      { process: 1, type: 'ok', op: 'get', key: '0', value: 'x "0" 0 y\n' },
    ]);
  });

  it('reads Jepsen register maps: vectors, nanosecond times, keyword values; skips the nemesis', () => {
    const text = [
      '{:type :invoke, :f :cas, :value [1 2], :process 3, :time 1500000}',
      '{:type :info, :f :start, :process :nemesis, :time 1600000}',
      '{:type :info, :f :cas, :value :timed-out, :process 3, :time 2000000}',
    ].join('\n');
    expect(parseEdnHistory(text)).toEqual([
      { process: 3, type: 'invoke', op: 'cas', value: [1, 2], time: 1.5 },
      { process: 3, type: 'info', op: 'cas', time: 2 },
    ]);
  });

  const errors: [string, string, RegExp][] = [
    [
      'an unterminated string',
      '{:process 0, :type :invoke, :f :get, :key "0}',
      /^line 1: unterminated string/,
    ],
    ['a missing brace', '{:process 0, :type :invoke', /^line 1: unexpected end of line/],
    [
      'trailing text',
      '{:process 0, :type :invoke, :f :get} x',
      /^line 1: unexpected text after the value/,
    ],
    ['a non-map', '\n[1 2]', /^line 2: expected a map/],
    ['a string type', '{:process 0, :type "invoke", :f :get}', /^line 1: :type must be a keyword/],
    ['an unknown f', '{:process 0, :type :invoke, :f :delete}', /^line 1: unknown op "delete"/],
    [
      'a bad token',
      '{:process 0, :type :invoke, :f :get, :value #inst}',
      /^line 1: cannot read "#inst"/,
    ],
    ['a non-keyword map key', '{"process" 0}', /^line 1: map keys must be keywords/],
    [
      'a completion with nothing pending',
      '{:process 0, :type :ok, :f :get, :key "a", :value ""}',
      /^line 1: process 0 completes get/,
    ],
  ];
  it.each(errors)('names the line of %s', (_, text, message) => {
    expect(() => parseEdnHistory(text)).toThrow(HistoryError);
    expect(() => parseEdnHistory(text)).toThrow(message);
  });
});
