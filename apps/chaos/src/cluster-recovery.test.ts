import { describe, expect, it } from 'vitest';
import { isClusterWhole, isQuorumClusterWhole } from './cluster-recovery.js';
import type { ClusterView } from './etcd-json-client.js';

const member = (id: string, lastContactAgoMs?: number) => ({
  id,
  name: id,
  lastContactAgoMs,
});

const view = (
  memberId: string,
  leaderId: string | undefined,
  contacts: Record<string, number | undefined> = {},
): ClusterView => ({
  memberId,
  name: memberId,
  role: memberId === leaderId ? 'leader' : 'follower',
  leaderId,
  generation: 3,
  members: ['a', 'b', 'c'].map((id) => member(id, contacts[id])),
  replication: 'leader',
});

describe('isClusterWhole', () => {
  it('accepts every node naming the same leader, in touch with every follower', () => {
    expect(isClusterWhole([view('a', 'a', { b: 40, c: 90 }), view('b', 'a'), view('c', 'a')])).toBe(
      true,
    );
  });

  it('accepts a leader that does not report contact times', () => {
    expect(isClusterWhole([view('a', 'a'), view('b', 'a'), view('c', 'a')])).toBe(true);
  });

  it('waits for a node that is down or has not answered', () => {
    expect(isClusterWhole([view('a', 'a'), undefined, view('c', 'a')])).toBe(false);
  });

  it('waits for a restarted node to hear from the leader', () => {
    expect(isClusterWhole([view('a', 'a'), view('b', 'a'), view('c', undefined)])).toBe(false);
  });

  it('waits while nodes disagree on the leader or no one leads', () => {
    expect(isClusterWhole([view('a', 'a'), view('b', 'b'), view('c', 'a')])).toBe(false);
    expect(isClusterWhole([view('a', undefined), view('b', undefined), view('c', undefined)])).toBe(
      false,
    );
    // Named by all, but it does not (yet) say it leads.
    expect(isClusterWhole([{ ...view('a', 'a'), role: 'candidate' }, view('b', 'a')])).toBe(false);
  });

  it('waits for the leader to hear from a follower that was silent', () => {
    expect(
      isClusterWhole([view('a', 'a', { b: 40, c: 2500 }), view('b', 'a'), view('c', 'a')]),
    ).toBe(false);
  });
});

describe('isQuorumClusterWhole', () => {
  const quorumView = (memberId: string, unreachable: readonly string[] = []): ClusterView => ({
    memberId,
    name: memberId,
    role: 'unknown',
    leaderId: undefined,
    generation: 0,
    replication: 'quorum',
    members: ['a', 'b', 'c'].map((id) => ({
      id,
      name: id,
      lastContactAgoMs: undefined,
      reachable: !unreachable.includes(id),
    })),
  });

  it('accepts every node seeing every member reachable', () => {
    expect(isQuorumClusterWhole([quorumView('a'), quorumView('b'), quorumView('c')])).toBe(true);
  });

  it('waits for a node that is down, paused or has not answered', () => {
    expect(isQuorumClusterWhole([quorumView('a'), undefined, quorumView('c')])).toBe(false);
  });

  it('waits while a node still suspects a peer or has not agreed with it', () => {
    expect(isQuorumClusterWhole([quorumView('a', ['b']), quorumView('b'), quorumView('c')])).toBe(
      false,
    );
  });

  it('refuses a node in leader mode', () => {
    expect(
      isQuorumClusterWhole([
        quorumView('a'),
        quorumView('b'),
        { ...quorumView('c'), replication: 'leader' },
      ]),
    ).toBe(false);
  });
});
