import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RevisionList, RevisionLog } from './revision-log.js';

/** Everything a log holds, as `forEachRevision` reports it. */
function contents(log: RevisionLog): [number, string[]][] {
  const revisions: [number, string[]][] = [];
  log.forEachRevision((revision, keys) => revisions.push([revision, keys]));
  return revisions;
}

describe('RevisionLog.capture', () => {
  it('reads the revisions of the moment it was taken, whatever the log does next', () => {
    const step = fc.oneof(
      fc.record({ kind: fc.constant('record' as const), keys: fc.integer({ min: 1, max: 3 }) }),
      fc.record({ kind: fc.constant('drop' as const), through: fc.integer({ min: 0, max: 40 }) }),
      fc.record({ kind: fc.constant('capture' as const) }),
      fc.record({ kind: fc.constant('reset' as const) }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const log = new RevisionLog(2);
        const captures: { capture: Iterable<readonly [number, string[]]>; expected: unknown }[] =
          [];
        for (const each of steps) {
          if (each.kind === 'record') {
            const revision = log.lastRevision + 1;
            for (let key = 0; key < each.keys; key++) log.record(revision, `k${revision}.${key}`);
          } else if (each.kind === 'drop') {
            log.dropThrough(each.through, () => undefined);
          } else if (each.kind === 'reset') {
            log.reset(log.lastRevision + 1);
          } else {
            const capture = log.capture();
            expect(capture.length).toBe(log.lastRevision - log.firstRevision + 1);
            captures.push({ capture, expected: contents(log) });
          }
        }
        for (const { capture, expected } of captures) expect([...capture]).toEqual(expected);
      }),
    );
  });

  it('is not changed by later keys of its last revision', () => {
    const log = new RevisionLog(2);
    log.record(2, 'a');
    const capture = log.capture();
    log.record(2, 'b');
    log.record(3, 'c');
    expect([...capture]).toEqual([[2, ['a']]]);
    expect(contents(log)).toEqual([
      [2, ['a', 'b']],
      [3, ['c']],
    ]);
  });
});

describe('RevisionList', () => {
  it('gives back the revisions and keys added, in order', () => {
    const list = new RevisionList();
    list.add(5, ['a', 'b']);
    list.add(7, ['c']);
    expect(list.length).toBe(2);
    expect([...list]).toEqual([
      [5, ['a', 'b']],
      [7, ['c']],
    ]);
  });
});
