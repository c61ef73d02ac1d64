import { describe, expect, it } from 'vitest';
import type { DetectorAbRun } from './detector-ab.js';
import { armOrder, summarizeArm } from './detector-ab.js';

const run = (block: number, failoverMs: number[], falseSuspicions: number): DetectorAbRun => ({
  block,
  seed: 7 + block,
  passed: true,
  failedChecks: [],
  leaderKills: failoverMs.length,
  failoverMs,
  elections: failoverMs.length + falseSuspicions,
  falseSuspicions,
  runDirectory: `results/${block}`,
});

describe('detector A/B', () => {
  it('alternates the arms block by block (ABBA)', () => {
    const arms = ['fixed', 'phi'] as const;
    expect([0, 1, 2, 3].flatMap((block) => armOrder(block, arms))).toEqual([
      'fixed',
      'phi',
      'phi',
      'fixed',
      'fixed',
      'phi',
      'phi',
      'fixed',
    ]);
  });

  it('pools an arm’s blocks into its percentiles and counts', () => {
    const arm = summarizeArm('phi', [run(0, [1200, 1500, 3000], 1), run(1, [1100], 0)]);
    expect(arm).toMatchObject({
      detector: 'phi',
      leaderKills: 4,
      failoverMs: [1200, 1500, 3000, 1100],
      failoverP50Ms: 1200,
      failoverP99Ms: 3000,
      failoverMaxMs: 3000,
      elections: 5,
      falseSuspicions: 1,
    });
  });
});
