import { describe, expect, it } from 'vitest';
import type { CoverageMark } from './core-types.js';
import { CoreNetwork } from './test-support/core-network.js';

describe('coverage marks', () => {
  it('the core names its transitions through onCoverage, not through log text', () => {
    const marks: CoverageMark[] = [];
    const network = new CoreNetwork(['a', 'b', 'c'], { onCoverage: (mark) => marks.push(mark) });
    const leader = network.runUntilLeader();
    expect(marks).toContain('election-started');
    expect(marks).toContain('leader-elected');
    network.core(leader).readBarrier(1);
    network.deliver();
    network.run(3);
    expect(marks).toContain('read-barrier-confirmed');

    network.isolate(leader);
    for (let i = 0; i < 100 && network.core(leader).role === 'leader'; i++) network.tick(leader);
    expect(marks).toContain('check-quorum-stepped-down');
    expect(marks).toContain('stale-leader-stepped-down');
  });
});
