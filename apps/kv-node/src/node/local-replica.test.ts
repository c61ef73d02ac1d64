import type { NodeStatus as ReplicationStatus } from '@x/leader-follower';
import {
  IndeterminateOutcomeError,
  NoQuorumError,
  NodeStoppedError,
  NotLeaderError,
  ProposalDroppedError,
  TooManyRequestsError,
} from '@x/leader-follower';
import { describe, expect, it, vi } from 'vitest';
import { ApiError } from '../http/api-error.js';
import { KvStore } from '../store/kv-store.js';
import { RequestWaitingList } from '@x/high-water-mark';
import type { ReplicaNode } from './local-replica.js';
import { LeaderFollowerReplica } from './local-replica.js';

const members = ['a', 'b', 'c'].map((name, position) => ({
  name,
  id: String(100 + position),
  peerUrls: [`http://127.0.0.1:${2380 + position}`],
  clientUrls: [],
}));

function replicationStatus(overrides: Partial<ReplicationStatus> = {}): ReplicationStatus {
  return {
    id: 'a',
    role: 'leader',
    generation: 3,
    votedFor: 'a',
    leaderId: 'a',
    lastIndex: 40,
    lastGeneration: 3,
    durableIndex: 40,
    highWaterMark: 39,
    lowWaterMark: 10,
    snapshotIndex: 20,
    appliedIndex: 38,
    ticksSinceLeaderContact: 0,
    transferTarget: undefined,
    failureDetector: 'fixed',
    leaderSuspected: false,
    configuration: { voters: ['a', 'b'], learners: [] },
    configurationIndex: 0,
    followers: [
      {
        id: 'b',
        matchIndex: 40,
        nextIndex: 41,
        lag: 0,
        state: 'replicate',
        inflightAppends: 0,
        ticksSinceResponse: 1,
        lastResponseAgeMs: 100,
        lostAcknowledgedEntries: false,
        suspected: false,
        live: true,
        learner: false,
      },
    ],
    lastHeartbeatAgeMs: 0,
    pendingProposals: 0,
    pendingReads: 0,
    uncommittedBytes: 0,
    ...overrides,
  };
}

function fakeNode(overrides: Partial<ReplicaNode> = {}): ReplicaNode {
  return {
    role: 'leader',
    leaderId: 'a',
    highWaterMark: 39,
    propose: vi.fn(() => Promise.resolve({ status: 'applied' })),
    readBarrier: vi.fn(() => Promise.resolve(39)),
    status: () => replicationStatus(),
    transferLeadership: () => Promise.resolve('b'),
    ...overrides,
  };
}

function replicaOver(node: ReplicaNode, unsafeLocalLinearizableReads = false) {
  return new LeaderFollowerReplica({
    node,
    store: new KvStore(),
    appliedWaiters: new RequestWaitingList(),
    name: 'a',
    clusterId: '7',
    members,
    unsafeLocalLinearizableReads,
  });
}

async function rejection(promise: Promise<unknown>): Promise<ApiError> {
  const error: unknown = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  if (!(error instanceof ApiError)) throw new Error(`expected an ApiError, got ${String(error)}`);
  return error;
}

describe('LeaderFollowerReplica', () => {
  it('names itself by its --name in its status, not by the id it replicates under', () => {
    // A member added at run time replicates under its member id in hexadecimal.
    const added = { name: 'm4', replicationId: '1f', id: '31', peerUrls: [], clientUrls: [] };
    const replica = new LeaderFollowerReplica({
      node: fakeNode({
        role: 'follower',
        status: () => replicationStatus({ id: '1f', role: 'follower', followers: [] }),
      }),
      store: new KvStore(),
      appliedWaiters: new RequestWaitingList(),
      name: '1f',
      memberName: 'm4',
      clusterId: '7',
      members: [...members, added],
      unsafeLocalLinearizableReads: false,
    });
    expect(replica.status()).toMatchObject({ name: 'm4', memberId: '31' });
  });

  it('confirms linearizable reads with the quorum barrier by default', async () => {
    const node = fakeNode();
    await expect(replicaOver(node).readBarrier()).resolves.toBe(39);
    expect(node.readBarrier).toHaveBeenCalledWith('linearizable');
  });

  it('shares one quorum round among the reads of one turn, never one that started before a read', async () => {
    let answer: (index: number) => void = () => {};
    const node = fakeNode({
      readBarrier: vi.fn(() => new Promise<number>((resolve) => (answer = resolve))),
    });
    const replica = replicaOver(node);
    const firstTurn = [replica.readBarrier(), replica.readBarrier(), replica.readBarrier()];
    expect(node.readBarrier).not.toHaveBeenCalled(); // started once the turn's input is read
    await new Promise((resolve) => setImmediate(resolve));
    expect(node.readBarrier).toHaveBeenCalledTimes(1);
    const later = replica.readBarrier(); // arrived after the round started: needs its own
    answer(40);
    await expect(Promise.all(firstTurn)).resolves.toEqual([40, 40, 40]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(node.readBarrier).toHaveBeenCalledTimes(2);
    answer(41);
    await expect(later).resolves.toBe(41);
  });

  it('with --unsafe-local-linearizable-reads, skips the barrier on the leader only', async () => {
    const leader = fakeNode();
    await expect(replicaOver(leader, true).readBarrier()).resolves.toBe(39);
    expect(leader.readBarrier).not.toHaveBeenCalled();
    const follower = fakeNode({
      role: 'follower',
      readBarrier: vi.fn(() => Promise.reject(new NotLeaderError('b'))),
    });
    expect((await rejection(replicaOver(follower, true).readBarrier())).details.status).toBe(503);
    expect(follower.readBarrier).toHaveBeenCalled();
  });

  it('maps definite errors to 503 and unknown outcomes to 504', async () => {
    const cases: [Error, number, boolean][] = [
      [new NotLeaderError('b'), 503, true],
      [new NotLeaderError(undefined, 'leadership-transfer'), 503, true],
      [new NodeStoppedError('closed'), 503, true],
      [new ProposalDroppedError('replaced'), 503, true],
      [new IndeterminateOutcomeError('timed out'), 504, false],
    ];
    for (const [error, status, definite] of cases) {
      const node = fakeNode({ propose: () => Promise.reject(error) });
      const apiError = await rejection(replicaOver(node).propose(new Uint8Array([1])));
      expect([error.name, apiError.details.status, apiError.details.definite]).toEqual([
        error.name,
        status,
        definite,
      ]);
    }
    const noQuorum = fakeNode({ readBarrier: () => Promise.reject(new NoQuorumError('late')) });
    expect((await rejection(replicaOver(noQuorum).readBarrier())).details.status).toBe(503);
  });

  it('maps a full node (its bounds on pending work) to 429 with Retry-After, as etcd words it', async () => {
    const full = new TooManyRequestsError('pending-proposals', 65_536, 1500);
    const node = fakeNode({
      propose: () => Promise.reject(full),
      readBarrier: () => Promise.reject(new TooManyRequestsError('pending-reads', 10, 100)),
    });
    const refused = await rejection(replicaOver(node).propose(new Uint8Array([1])));
    expect(refused.details).toMatchObject({
      status: 429,
      reason: 'too_many_requests',
      definite: true,
      retryAfterSeconds: 2,
    });
    expect(refused.toJSON()).toMatchObject({
      error: 'etcdserver: too many requests',
      code: 8,
      reason: 'too_many_requests',
    });
    const read = await rejection(replicaOver(node).readBarrier());
    expect(read.details).toMatchObject({ status: 429, retryAfterSeconds: 1 });
  });

  it("reports the node's status with member ids, per-follower progress and the snapshot index", () => {
    const status = replicaOver(fakeNode()).status();
    expect(status).toMatchObject({
      clusterId: '7',
      memberId: '100',
      role: 'leader',
      generation: 3,
      leaderId: '100',
      lastLogIndex: 40,
      highWaterMark: 39,
      appliedIndex: 38,
      snapshotIndex: 20,
    });
    expect(status.members.map((member) => [member.role, member.matchIndex])).toEqual([
      ['leader', 40],
      ['follower', 40],
      ['follower', undefined],
    ]);
  });
});
