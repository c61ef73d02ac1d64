import { describe, expect, it } from 'vitest';
import { MemberStorageLostError } from './errors.js';
import { LeaderFollowerCore } from './leader-follower-core.js';
import type { Message, OutboundMessage } from './messages.js';
import { CoreNetwork } from './test-support/core-network.js';
import { seededRandom } from './test-support/seeded-random.js';

// A forgetful member (ISSUE-23 finding 2): one rule per test, each failing if its rule is removed.

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

function core(
  id: string,
  storageId: string,
  peers: Record<string, string> = {},
): LeaderFollowerCore {
  return new LeaderFollowerCore({
    id,
    members: ['a', 'b', 'c'],
    random: seededRandom(3),
    storageId,
    peerStorageIds: new Map(Object.entries(peers)),
  });
}

function sent(list: readonly OutboundMessage[], kind: Message['kind']): OutboundMessage[] {
  return list.filter((outbound) => outbound.message.kind === kind);
}

/** Ticks `candidate` until it asks for pre-votes; returns the Ready with the requests. */
function startPreVote(candidate: LeaderFollowerCore): void {
  for (let i = 0; i < 100 && candidate.role !== 'pre-candidate'; i++) candidate.tick();
  expect(candidate.role).toBe('pre-candidate');
  candidate.takeReady();
}

describe('storage identities', () => {
  it('a vote from a known member showing another storage identity is not counted, and answered with storage-lost', () => {
    const a = core('a', 'A1', { b: 'B1', c: 'C1' });
    startPreVote(a);
    a.step('b', {
      kind: 'vote-response',
      generation: 1,
      preVote: true,
      granted: true,
      storageId: 'B2',
    });
    expect(a.role).toBe('pre-candidate');
    const ready = a.takeReady();
    const lost = sent([...ready.messagesToSendNow, ...ready.messagesAfterPersist], 'storage-lost');
    expect(lost).toEqual([
      {
        to: 'b',
        message: {
          kind: 'storage-lost',
          generation: 0,
          storageId: 'B2',
          rememberedStorageId: 'B1',
        },
      },
    ]);
    // The same vote from the storage it remembers counts.
    a.step('c', {
      kind: 'vote-response',
      generation: 1,
      preVote: true,
      granted: true,
      storageId: 'C1',
    });
    expect(a.role).toBe('candidate');
  });

  it('an acknowledgement from a replaced storage does not count toward the high-water mark', () => {
    const leader = core('a', 'A1', { b: 'B1', c: 'C1' });
    // A leader of its own generation 1 with one entry: make it leader through votes.
    startPreVote(leader);
    leader.step('c', {
      kind: 'vote-response',
      generation: 1,
      preVote: true,
      granted: true,
      storageId: 'C1',
    });
    leader.takeReady();
    leader.step('c', {
      kind: 'vote-response',
      generation: 1,
      preVote: false,
      granted: true,
      storageId: 'C1',
    });
    expect(leader.role).toBe('leader');
    leader.takeReady();
    leader.persisted(1, 1);
    leader.step('b', {
      kind: 'append-response',
      generation: 1,
      rejected: false,
      index: 1,
      hintIndex: 0,
      hintGeneration: 0,
      storageId: 'B2',
    });
    expect(leader.highWaterMark).toBe(0);
    leader.step('c', {
      kind: 'append-response',
      generation: 1,
      rejected: false,
      index: 1,
      hintIndex: 0,
      hintGeneration: 0,
      storageId: 'C1',
    });
    expect(leader.highWaterMark).toBe(1);
  });

  it('a storage-lost naming this storage stops the member; one naming another is ignored', () => {
    const b = core('b', 'B2');
    b.step('a', {
      kind: 'storage-lost',
      generation: 3,
      storageId: 'B0',
      rememberedStorageId: 'B1',
    });
    expect(() =>
      b.step('a', {
        kind: 'storage-lost',
        generation: 3,
        storageId: 'B2',
        rememberedStorageId: 'B1',
      }),
    ).toThrow(MemberStorageLostError);
  });

  it('identities are learned from votes and appends, and from the table on heartbeats', () => {
    const a = core('a', 'A1');
    startPreVote(a);
    a.step('b', {
      kind: 'vote-response',
      generation: 1,
      preVote: true,
      granted: false,
      storageId: 'B1',
    });
    expect(a.takeReady().peerStorageIdsLearned).toEqual([{ member: 'b', storageId: 'B1' }]);
    const c = core('c', 'C1');
    c.step('a', {
      kind: 'heartbeat',
      generation: 1,
      highWaterMark: 0,
      readRound: 0,
      storageIds: [
        { member: 'a', storageId: 'A1' },
        { member: 'b', storageId: 'B1' },
        { member: 'c', storageId: 'not-me' },
        { member: 'stranger', storageId: 'S1' },
      ],
    });
    expect(c.takeReady().peerStorageIdsLearned).toEqual([
      { member: 'a', storageId: 'A1' },
      { member: 'b', storageId: 'B1' },
    ]);
    // Now c refuses b under another identity, although it never exchanged a message with b.
    c.step('b', {
      kind: 'vote-request',
      generation: 2,
      preVote: true,
      leadershipTransfer: false,
      lastLogIndex: 0,
      lastLogGeneration: 0,
      storageId: 'B2',
    });
    const ready = c.takeReady();
    expect(sent(ready.messagesAfterPersist, 'vote-response')).toEqual([]);
    expect(
      sent([...ready.messagesToSendNow, ...ready.messagesAfterPersist], 'storage-lost'),
    ).toHaveLength(1);
  });

  it('the leader shares its own identity and those it remembers on heartbeats', () => {
    const network = new CoreNetwork(['a', 'b', 'c'], { storageId: 'shared' });
    network.elect('a');
    network.run(3);
    const heartbeat = network.delivered.find((m) => m.message.kind === 'heartbeat')?.message;
    expect(heartbeat?.kind === 'heartbeat' ? heartbeat.storageIds : undefined).toContainEqual({
      member: 'a',
      storageId: 'shared',
    });
  });
});

describe('a follower that rejects at or below its match index', () => {
  function forgetfulB(): CoreNetwork {
    const network = new CoreNetwork(['a', 'b', 'c']);
    network.elect('a');
    for (const text of ['x', 'y', 'z']) network.core('a').propose(bytes(text));
    network.deliver();
    const b = network
      .core('a')
      .status()
      .followers.find((f) => f.id === 'b');
    expect(b?.matchIndex).toBe(4);
    // b restarts with empty storage; a still believes it holds 1..4.
    network.crash('b');
    network.storage.set('b', {
      hardState: { generation: 0, votedFor: undefined },
      snapshot: undefined,
      entries: [],
    });
    network.start('b');
    network.core('a').propose(bytes('w'));
    network.deliver();
    return network;
  }

  it('is reported as having lost acknowledged entries, and catches up from scratch', () => {
    const network = forgetfulB();
    const b = network
      .core('a')
      .status()
      .followers.find((f) => f.id === 'b');
    expect(b?.lostAcknowledgedEntries).toBe(true);
    network.run(50);
    // Without forgetting its match point the leader would probe at 4 forever.
    expect(network.core('b').status().lastIndex).toBe(network.core('a').status().lastIndex);
  });

  it('is reported in a Ready once', () => {
    const network = new CoreNetwork(['a', 'b', 'c']);
    network.elect('a');
    const a = network.core('a');
    a.propose(bytes('x'));
    network.deliver();
    a.takeReady();
    a.step('b', {
      kind: 'append-response',
      generation: 1,
      rejected: true,
      index: 2,
      hintIndex: 0,
      hintGeneration: 0,
    });
    expect(a.takeReady().lostAcknowledgedEntries).toEqual([
      { member: 'b', acknowledgedIndex: 2, rejectedIndex: 2 },
    ]);
    expect(a.takeReady().lostAcknowledgedEntries).toEqual([]);
  });

  it('is no longer counted for quorum while this leader leads', () => {
    const network = forgetfulB();
    network.run(50);
    const a = network.core('a');
    const committed = a.highWaterMark;
    network.crash('c');
    a.propose(bytes('v'));
    network.run(5);
    // b acknowledged the new entry, but it lost what it acknowledged before: a and b are not a
    // majority a leader may count on (b's vote for a stale candidate could still undo them).
    expect(network.core('b').status().lastIndex).toBe(a.status().lastIndex);
    expect(a.highWaterMark).toBe(committed);
  });
});

describe('the acknowledged index', () => {
  it('is what is durable here and known committed, never more', () => {
    const network = new CoreNetwork(['a', 'b', 'c']);
    network.elect('a');
    network.holdPersistence('b');
    network.core('a').propose(bytes('x'));
    network.run(3);
    const b = network.core('b');
    expect(b.acknowledgedIndex).toBeLessThanOrEqual(b.durableLogIndex);
    expect(b.acknowledgedIndex).toBeLessThanOrEqual(b.highWaterMark);
    network.releasePersistence('b');
    network.run(5);
    expect(b.acknowledgedIndex).toBe(Math.min(b.durableLogIndex, b.highWaterMark));
    expect(b.acknowledgedIndex).toBe(network.core('a').highWaterMark);
  });
});
