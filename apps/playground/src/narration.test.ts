import { describe, expect, it } from 'vitest';
import { explainChange, explainStaleMessage, quorumOf, type MemberFacts } from './narration.js';

const follower: MemberFacts = {
  name: 'athens',
  role: 'follower',
  generation: 3,
  highWaterMark: 7,
  lastHeartbeatAgeMs: 1_400,
};

describe('narration', () => {
  it('counts a quorum as a majority', () => {
    expect([1, 2, 3, 4, 5].map(quorumOf)).toEqual([1, 2, 2, 3, 3]);
  });

  it('explains an election from missed heartbeats to a new leader', () => {
    const preCandidate = { ...follower, role: 'pre-candidate' as const };
    expect(explainChange(follower, preCandidate, 3)[0]!.text).toMatch(
      /^Election started: athens missed heartbeats for 1400 ms.*generation 4 \(pre-vote\)/,
    );
    const candidate = { ...preCandidate, role: 'candidate' as const, generation: 4 };
    expect(explainChange(preCandidate, candidate, 5)[0]!.text).toMatch(/needs 3 of 5/);
    const leader = { ...candidate, role: 'leader' as const };
    const lines = explainChange(candidate, leader, 5);
    expect(lines).toHaveLength(1);
    expect(lines[0]!.kind).toBe('leader');
    expect(lines[0]!.text).toMatch(/^athens leads generation 4: a quorum \(3 of 5\)/);
  });

  it('tells the first election of a fresh cluster apart', () => {
    const fresh = { ...follower, generation: 0 };
    expect(explainChange(fresh, { ...fresh, role: 'pre-candidate' }, 3)[0]!.text).toMatch(
      /heard of no leader since it started/,
    );
  });

  it('explains commits on the leader only', () => {
    const leader = { ...follower, role: 'leader' as const };
    const lines = explainChange(leader, { ...leader, highWaterMark: 8 }, 3);
    expect(lines).toHaveLength(1);
    expect(lines[0]!.kind).toBe('commit');
    expect(lines[0]!.text).toMatch(/^Entry 8 committed: a quorum \(2 of 3\) stores it/);
    expect(explainChange(leader, { ...leader, highWaterMark: 10 }, 3)[0]!.text).toMatch(
      /^Entries 8-10 committed/,
    );
    expect(explainChange(follower, { ...follower, highWaterMark: 8 }, 3)).toEqual([]);
  });

  it('tells a stale leader stepping down from a check-quorum step-down', () => {
    const leader = { ...follower, role: 'leader' as const };
    const stale = explainChange(leader, { ...follower, generation: 4 }, 3)[0]!;
    expect(stale.kind).toBe('step-down');
    expect(stale.text).toMatch(
      /^Stale leader stepped down: athens learned of generation 4, newer than its 3/,
    );
    expect(explainChange(leader, follower, 3)[0]!.text).toMatch(/check-quorum/);
  });

  it('says nothing when nothing worth telling changed', () => {
    expect(explainChange(follower, { ...follower, lastHeartbeatAgeMs: 0 }, 3)).toEqual([]);
  });

  it('explains a rejected message from an older generation', () => {
    expect(explainStaleMessage('cyrene', 'athens', 'append', 1, 2)).toMatch(
      /^Stale leader rejected: athens refused cyrene's append of generation 1, older than its own 2/,
    );
  });
});
