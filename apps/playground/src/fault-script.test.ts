import { describe, expect, it } from 'vitest';
import { FaultScriptError, formatFaultScript, parseFaultScript } from './fault-script.js';

describe('fault script', () => {
  it('reads every kind of action, with symbolic members', () => {
    const script = parseFaultScript(
      '@3000 crash leader; @3200 put x=1 to previous\n@4000 partition athens,follower | cyrene; @5000 heal; @6000 restart previous; @6500 pause byzantium; @7000 resume previous; @7500 isolate leader; @8000 put y=2; @8100 skew follower 1500',
    );
    expect(script).toEqual([
      { atMs: 3000, action: { kind: 'crash', member: 'leader' } },
      { atMs: 3200, action: { kind: 'put', key: 'x', value: '1', to: 'previous' } },
      {
        atMs: 4000,
        action: { kind: 'partition', groups: [['athens', 'follower'], ['cyrene']] },
      },
      { atMs: 5000, action: { kind: 'heal' } },
      { atMs: 6000, action: { kind: 'restart', member: 'previous' } },
      { atMs: 6500, action: { kind: 'pause', member: 'byzantium' } },
      { atMs: 7000, action: { kind: 'resume', member: 'previous' } },
      { atMs: 7500, action: { kind: 'isolate', member: 'leader' } },
      { atMs: 8000, action: { kind: 'put', key: 'y', value: '2' } },
      { atMs: 8100, action: { kind: 'skew', member: 'follower', ms: 1500 } },
    ]);
  });

  it('writes a script that reads back unchanged', () => {
    const text =
      '@0 crash athens\n@12.5 put x=1 to cyrene\n@40 partition leader | athens,byzantium\n@41 heal\n@42 skew leader 250';
    expect(formatFaultScript(parseFaultScript(text))).toBe(text);
    expect(parseFaultScript(formatFaultScript(parseFaultScript(text)))).toEqual(
      parseFaultScript(text),
    );
  });

  it('reads an empty script as no actions', () => {
    expect(parseFaultScript('')).toEqual([]);
    expect(parseFaultScript(' ;\n ; ')).toEqual([]);
  });

  it.each([
    ['crash leader', /expected @<ms> <action>/],
    ['@10 explode athens', /unknown action "explode"/],
    ['@10 crash', /crash takes one member/],
    ['@10 crash a b', /crash takes one member/],
    ['@10 crash ath$ns', /expected a member name/],
    ['@10 put x', /put needs key=value/],
    ['@10 put x=1 at athens', /put key=value \[to member\]/],
    ['@10 heal now', /heal takes nothing/],
    ['@10 skew athens', /skew takes a member and whole milliseconds/],
    ['@10 skew athens -5', /skew takes a member and whole milliseconds/],
    ['@10 partition a, | b', /expected a member name/],
    ['@10 partition |', /partition needs groups/],
    ['@20 heal; @10 heal', /action 2 .* goes back in time \(after @20\)/],
    ['@-5 heal', /expected @<ms> <action>/],
  ])('refuses %j', (text, message) => {
    expect(() => parseFaultScript(text)).toThrow(FaultScriptError);
    expect(() => parseFaultScript(text)).toThrow(message);
  });
});
