import { describe, expect, it } from 'vitest';
import type { ObservedWatchEvent, RegisterWrite, WatchCoverage } from './watch-check.js';
import { checkWatchStream } from './watch-check.js';

// Five writes: three acknowledged (revisions 2, 3, 5), one indeterminate that was applied (at 4),
// one definitely failed (never applied).
const writes: RegisterWrite[] = [
  { key: 'r/0/0', value: 1, outcome: 'ok', revision: 2 },
  { key: 'r/1/0', value: 2, outcome: 'ok', revision: 3 },
  { key: 'r/0/0', value: 3, outcome: 'info' },
  { key: 'r/1/0', value: 4, outcome: 'ok', revision: 5 },
  { key: 'r/0/0', value: 5, outcome: 'fail' },
];

const put = (key: string, value: number, revision: number, stream = 0): ObservedWatchEvent => ({
  type: 'put',
  key,
  value: String(value),
  revision,
  stream,
});

// The stream broke after revision 3 and was re-opened from 4 on another member.
const clean: ObservedWatchEvent[] = [
  put('r/0/0', 1, 2),
  put('r/1/0', 2, 3),
  put('r/0/0', 3, 4, 1),
  put('r/1/0', 4, 5, 1),
];
const coverage: WatchCoverage = { fromRevision: 1, throughRevision: 5, prefix: 'r/' };

const verdicts = (events: ObservedWatchEvent[], through = coverage) =>
  Object.fromEntries(
    checkWatchStream(writes, events, through).map((report) => [report.name, report.passed]),
  );

describe('checkWatchStream', () => {
  it('passes a clean stream, resumed after a break', () => {
    expect(verdicts(clean)).toEqual({
      'watch-no-gap': true,
      'watch-in-order': true,
      'watch-no-phantom': true,
    });
  });

  it('catches a gap: an acknowledged write missing from the stream', () => {
    const gap = clean.filter((event) => event.revision !== 3);
    const reports = checkWatchStream(writes, gap, coverage);
    expect(reports[0]).toMatchObject({ name: 'watch-no-gap', passed: false });
    expect(reports[0]?.detail).toContain('r/1/0=2 at revision 3 is missing');
    expect(verdicts(gap)).toMatchObject({ 'watch-in-order': true, 'watch-no-phantom': true });
  });

  it('catches a gap at the end: a watcher that never got to the last acknowledged write', () => {
    const short = clean.slice(0, 3);
    const reports = checkWatchStream(writes, short, { ...coverage, throughRevision: 4 });
    expect(reports[0]).toMatchObject({ name: 'watch-no-gap', passed: false });
    expect(reports[0]?.detail).toContain('got only to revision 4');
  });

  it('catches a reorder: a revision after a later one', () => {
    const reordered = [clean[0], clean[2], clean[1], clean[3]] as ObservedWatchEvent[];
    const reports = checkWatchStream(writes, reordered, coverage);
    expect(reports[1]).toMatchObject({ name: 'watch-in-order', passed: false });
    expect(reports[1]?.detail).toContain('came after revision 4');
    expect(verdicts(reordered)).toMatchObject({ 'watch-no-gap': true, 'watch-no-phantom': true });
  });

  it('catches a duplicate: an event delivered again by a re-opened stream', () => {
    const duplicated = [...clean.slice(0, 2), put('r/1/0', 2, 3, 1), ...clean.slice(2)];
    const reports = checkWatchStream(writes, duplicated, coverage);
    expect(reports[1]).toMatchObject({ name: 'watch-in-order', passed: false });
    expect(reports[1]?.detail).toContain('delivered twice');
  });

  it('catches a phantom: a value no client wrote', () => {
    const phantom = [
      ...clean.slice(0, 2),
      put('r/0/0', 99, 4, 1),
      clean[3],
    ] as ObservedWatchEvent[];
    const reports = checkWatchStream(writes, phantom, coverage);
    expect(reports[2]).toMatchObject({ name: 'watch-no-phantom', passed: false });
    expect(reports[2]?.detail).toContain('no client wrote that value');
    expect(verdicts(phantom)).toMatchObject({ 'watch-no-gap': true, 'watch-in-order': true });
  });

  it('catches a phantom: the value of a write reported as definitely failed', () => {
    const failedWrite = [...clean, put('r/0/0', 5, 6, 1)];
    const reports = checkWatchStream(writes, failedWrite, coverage);
    expect(reports[2]).toMatchObject({ name: 'watch-no-phantom', passed: false });
    expect(reports[2]?.detail).toContain('definitely failed');
  });

  it('catches a phantom: an acknowledged value at another revision, or a delete', () => {
    const moved = [clean[0], put('r/1/0', 2, 4), clean[3]] as ObservedWatchEvent[];
    expect(checkWatchStream(writes, moved, coverage)[2]?.detail).toContain(
      'acknowledged at revision 3',
    );
    const deleted: ObservedWatchEvent[] = [
      ...clean,
      { type: 'delete', key: 'r/1/0', value: undefined, revision: 6, stream: 1 },
    ];
    expect(checkWatchStream(writes, deleted, coverage)[2]?.detail).toContain('no client deletes');
  });

  it('ignores writes outside the watched prefix and before the first revision watched', () => {
    const others: RegisterWrite[] = [
      ...writes,
      { key: 's/1', value: 7, outcome: 'ok', revision: 6 },
    ];
    const late = clean.slice(1);
    const reports = checkWatchStream(others, late, { ...coverage, fromRevision: 3 });
    expect(reports.map((report) => report.passed)).toEqual([true, true, true]);
  });
});
