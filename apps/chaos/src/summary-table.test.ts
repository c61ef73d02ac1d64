import { describe, expect, it } from 'vitest';
import type { ChaosResult } from './chaos-result.js';
import { formatSummary } from './summary-table.js';

const result: ChaosResult = {
  seed: 42,
  nodeCount: 3,
  durationMs: 60_000,
  passed: false,
  checks: [
    { name: 'linearizable', passed: true, detail: 'linearizable (10 operations)' },
    { name: 'write-after-heal', passed: false, detail: 'no write succeeded' },
  ],
  schedule: { seed: 42, nodeCount: 3, durationMs: 60_000, steps: [] },
  faults: [],
  measures: {
    operations: { ok: 90, fail: 5, info: 5 },
    okPerSecond: 1.5,
    faults: [
      {
        description: 'isolate node-b',
        all: { ok: 9, total: 10, ratio: 0.9 },
        unaffectedNodes: { ok: 5, total: 5, ratio: 1 },
      },
    ],
    failoverMs: [1000, 2000],
    failoverP50Ms: 1000,
    failoverP99Ms: 2000,
    leaderKillFailoverMs: [1500],
    leaderKillFailoverP50Ms: 1500,
    leaderKillFailoverP99Ms: 1500,
    majoritySideDuringMinorityPartition: { ok: 5, total: 5, ratio: 1 },
    elections: { elections: 3, explained: 2, falseSuspicions: 1, unexplained: [] },
  },
  poison: {
    byKind: { 'bad-base64': { sent: 4, expected: 3, unanswered: 1, wrong: 0 } },
    wrongAnswers: [],
  },
  notices: ['skipped "clock": no faketime'],
  runDirectory: 'results/x',
};

describe('formatSummary', () => {
  it('shows checks, measures, notices and the verdict', () => {
    const text = formatSummary(result);
    expect(text).toContain('chaos run seed=42 nodes=3');
    expect(text).toMatch(/linearizable\s+PASS\s+linearizable \(10 operations\)/);
    expect(text).toMatch(/write-after-heal\s+FAIL\s+no write succeeded/);
    expect(text).toContain('90 ok, 5 fail, 5 info; 1.5 ok/s');
    expect(text).toContain('n=2 p50=1000 ms p99=2000 ms');
    expect(text).toContain('of which leader kills: n=1 p50=1500 ms p99=1500 ms');
    expect(text).toContain(
      'elections after the first leader: 3 (2 replaced a leader a fault took away, 1 false suspicions)',
    );
    expect(text).toContain('majority side while a follower minority was partitioned: 100.00% of 5');
    expect(text).toContain(' 90.00% of    10 | 100.00% of     5  isolate node-b');
    expect(text).toContain('poison answered as expected / sent: bad-base64 3/4');
    expect(text).toContain('notice: skipped "clock": no faketime');
    expect(text.trimEnd().endsWith('FAILED; results in results/x')).toBe(true);
  });
});
