import { describe, expect, it } from 'vitest';
import { LeaderFollowerCore } from './leader-follower-core.js';
import type { LogEntry } from './log-entry.js';
import type { AppendResponse, Message, VoteResponse } from './messages.js';
import { SafetyViolationError } from './safety-violation-error.js';
import { CoreNetwork } from './test-support/core-network.js';
import { seededRandom } from './test-support/seeded-random.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const entry = (index: number, generation: number, text = `e${index}`): LogEntry => ({
  index,
  generation,
  kind: 'command',
  command: bytes(text),
});
const entries = (generations: number[]): LogEntry[] =>
  generations.map((generation, i) => entry(i + 1, generation));

function follower(
  id: string,
  log: LogEntry[] = [],
  generation = log.at(-1)?.generation ?? 0,
): LeaderFollowerCore {
  return new LeaderFollowerCore({
    id,
    members: ['a', 'b', 'c'],
    random: seededRandom(7),
    hardState: { generation, votedFor: undefined },
    entries: log,
  });
}

function messagesOfKind<K extends Message['kind']>(
  list: readonly { to: string; message: Message }[],
  kind: K,
): Extract<Message, { kind: K }>[] {
  return list
    .map((outbound) => outbound.message)
    .filter((message): message is Extract<Message, { kind: K }> => message.kind === kind);
}

function threeNodeClusterWithLeaderA(): CoreNetwork {
  const network = new CoreNetwork(['a', 'b', 'c']);
  network.elect('a');
  expect(network.leader()).toBe('a');
  return network;
}

describe('elections', () => {
  it('elects a leader that appends an empty entry of its own generation (rule 3)', () => {
    const network = threeNodeClusterWithLeaderA();
    const a = network.core('a').status();
    expect(a.generation).toBe(1);
    const last = network.core('a').entryAt(a.lastIndex);
    expect(last).toMatchObject({ kind: 'empty', generation: 1 });
    expect(a.highWaterMark).toBe(1);
    for (const id of ['b', 'c']) expect(network.core(id).status().leaderId).toBe('a');
  });

  it('elects a single-server cluster on its own', () => {
    const network = new CoreNetwork(['solo']);
    network.elect('solo');
    expect(network.leader()).toBe('solo');
    const result = network.core('solo').propose(bytes('x'));
    expect(result.accepted).toBe(true);
    network.deliver();
    expect(network.applied.get('solo')?.map((e) => e.kind)).toEqual(['empty', 'command']);
  });

  it('a two-member cluster survives no failure: with either member cut off nothing commits', () => {
    // A quorum of two is two, so two servers tolerate no failure (the same as one server) while
    // doubling the machines that can fail: the answer to "do two servers make a cluster?".
    const network = new CoreNetwork(['a', 'b']);
    network.elect('a');
    expect(network.leader()).toBe('a');
    network.isolate('b');
    const committed = network.core('a').status().highWaterMark;
    expect(network.core('a').propose(bytes('x')).accepted).toBe(true);
    network.run(300);
    expect(network.core('a').status().highWaterMark).toBe(committed);
    expect(network.core('b').status().highWaterMark).toBe(committed);
    expect(network.core('b').role).not.toBe('leader');
    network.heal();
    network.runUntil(
      () =>
        network.leader() !== undefined &&
        network.core(network.leader()!).status().highWaterMark > committed,
    );
    // Once both talk again, the cluster commits again.
    expect(network.core('a').status().highWaterMark).toBeGreaterThan(committed);
  });

  it('split votes resolve: simultaneous candidates end with one leader', () => {
    const network = new CoreNetwork(['a', 'b', 'c', 'd'], {}, 3);
    network.partition(['a', 'b'], ['c', 'd']);
    network.elect('a');
    network.elect('c');
    // Neither side has a majority of four.
    expect(network.leader()).toBeUndefined();
    network.heal();
    network.run(200);
    const leaders = ['a', 'b', 'c', 'd'].filter((id) => network.core(id).role === 'leader');
    expect(leaders).toHaveLength(1);
  });

  it('stays stable: no election for 100 election timeouts while heartbeats flow', () => {
    const network = threeNodeClusterWithLeaderA();
    const generation = network.core('a').status().generation;
    network.run(100 * 10);
    expect(network.leader()).toBe('a');
    expect(network.core('a').status().generation).toBe(generation);
  });
});

describe('ticks finer than the heartbeat interval', () => {
  it('sends heartbeats every heartbeatIntervalTicks and stays stable with a fine-grained timeout', () => {
    // 3 ticks per heartbeat, election timeout 30 ticks: the timeout has 30 possible values
    // instead of 10, and heartbeats still arrive well inside it.
    const network = new CoreNetwork(['a', 'b', 'c'], {
      heartbeatIntervalTicks: 3,
      electionTimeoutTicks: 30,
    });
    network.elect('a');
    expect(network.leader()).toBe('a');
    const a = network.core('a');
    a.takeReady();
    const heartbeatTicks: number[] = [];
    for (let tick = 1; tick <= 12; tick++) {
      a.tick();
      const sent = messagesOfKind(a.takeReady().messagesToSendNow, 'heartbeat');
      if (sent.length > 0) heartbeatTicks.push(tick);
    }
    expect(heartbeatTicks).toEqual([3, 6, 9, 12]);
    const generation = a.status().generation;
    network.run(100 * 30);
    expect(network.leader()).toBe('a');
    expect(a.status().generation).toBe(generation);
  });
});

describe('rule 1: persist before responding', () => {
  it('sends a vote only after the vote and generation are persisted', () => {
    const b = follower('b');
    b.step('a', {
      kind: 'vote-request',
      generation: 1,
      preVote: false,
      leadershipTransfer: false,
      lastLogIndex: 0,
      lastLogGeneration: 0,
    });
    const ready = b.takeReady();
    expect(ready.hardState).toEqual({ generation: 1, votedFor: 'a' });
    expect(messagesOfKind(ready.messagesToSendNow, 'vote-response')).toHaveLength(0);
    expect(messagesOfKind(ready.messagesAfterPersist, 'vote-response')).toEqual([
      { kind: 'vote-response', generation: 1, preVote: false, granted: true },
    ]);
  });

  it('a candidate asks for votes only after its new generation is persisted', () => {
    const a = follower('a');
    for (let i = 0; i < 40 && a.role !== 'candidate'; i++) {
      a.tick();
      const ready = a.takeReady();
      for (const outbound of ready.messagesAfterPersist) {
        if (outbound.message.kind === 'vote-request' && outbound.message.preVote) {
          a.step(outbound.to, {
            kind: 'vote-response',
            generation: outbound.message.generation,
            preVote: true,
            granted: true,
          });
        }
      }
    }
    expect(a.role).toBe('candidate');
    const ready = a.takeReady();
    expect(ready.hardState).toEqual({ generation: 1, votedFor: 'a' });
    expect(messagesOfKind(ready.messagesToSendNow, 'vote-request')).toHaveLength(0);
    expect(messagesOfKind(ready.messagesAfterPersist, 'vote-request')).toHaveLength(2);
  });

  it('a follower acknowledges entries only after persisting them', () => {
    const b = follower('b', entries([1]), 1);
    b.step('a', {
      kind: 'append',
      generation: 1,
      prevIndex: 1,
      prevGeneration: 1,
      entries: [entry(2, 1)],
      highWaterMark: 1,
    });
    const ready = b.takeReady();
    expect(ready.entriesToPersist.map((e) => e.index)).toEqual([2]);
    expect(messagesOfKind(ready.messagesToSendNow, 'append-response')).toHaveLength(0);
    expect(messagesOfKind(ready.messagesAfterPersist, 'append-response')[0]).toMatchObject({
      rejected: false,
      index: 2,
    });
  });

  it('the leader counts its own entries towards the high-water mark only once durable', () => {
    const network = threeNodeClusterWithLeaderA();
    network.holdPersistence('a');
    network.cut('a', 'c');
    const proposal = network.core('a').propose(bytes('x'));
    expect(proposal).toMatchObject({ accepted: true, index: 2 });
    network.deliver();
    // The leader sent before its fsync, b stored and acknowledged: one durable copy of three.
    expect(network.storage.get('b')?.entries.map((e) => e.index)).toContain(2);
    expect(network.core('a').status().highWaterMark).toBe(1);
    network.releasePersistence('a');
    network.deliver();
    expect(network.core('a').status().highWaterMark).toBe(2);
  });
});

describe('rule 2: vote only for an up-to-date log', () => {
  const request = (lastLogIndex: number, lastLogGeneration: number): Message => ({
    kind: 'vote-request',
    generation: 5,
    preVote: false,
    leadershipTransfer: false,
    lastLogIndex,
    lastLogGeneration,
  });
  const answer = (core: LeaderFollowerCore): VoteResponse | undefined =>
    messagesOfKind(core.takeReady().messagesAfterPersist, 'vote-response')[0];

  it('refuses a candidate whose last entry has an older generation', () => {
    const b = follower('b', entries([1, 2, 2]), 2);
    b.step('a', request(10, 1));
    expect(answer(b)?.granted).toBe(false);
    expect(b.status().votedFor).toBeUndefined();
  });

  it('refuses a candidate with the same last generation but a shorter log', () => {
    const b = follower('b', entries([1, 2, 2]), 2);
    b.step('a', request(2, 2));
    expect(answer(b)?.granted).toBe(false);
  });

  it('grants an equally or more up-to-date candidate, once per generation', () => {
    const b = follower('b', entries([1, 2, 2]), 2);
    b.step('a', request(3, 2));
    expect(answer(b)?.granted).toBe(true);
    b.step('c', request(9, 3));
    expect(answer(b)?.granted).toBe(false);
  });

  it('a server missing committed entries cannot become leader', () => {
    const network = threeNodeClusterWithLeaderA();
    network.isolate('c');
    network.core('a').propose(bytes('committed'));
    network.deliver();
    expect(network.core('a').status().highWaterMark).toBe(2);
    network.crash('a');
    network.heal();
    network.elect('c');
    network.run(100);
    expect(network.leader()).toBe('b');
    expect(network.core('b').entryAt(2)?.command).toEqual(bytes('committed'));
  });
});

describe('rule 3: commit only current-generation entries by counting', () => {
  it('does not commit an older-generation entry stored on a majority until a current one is', () => {
    // a was leader of generation 2 and stored entry 2 only on itself; now it leads generation 3.
    const a = new LeaderFollowerCore({
      id: 'a',
      members: ['a', 'b', 'c'],
      random: seededRandom(1),
      hardState: { generation: 2, votedFor: 'a' },
      entries: entries([1, 2]),
    });
    // Bounded: a core that never wins (votes asked for before its generation is persisted, say)
    // must fail this test, not spin in it where no test timeout can stop it.
    for (let tick = 0; tick < 100 && a.role !== 'leader'; tick++) {
      a.tick();
      for (const outbound of a.takeReady().messagesAfterPersist) {
        if (outbound.message.kind === 'vote-request' && outbound.to === 'b') {
          a.step('b', {
            kind: 'vote-response',
            generation: outbound.message.generation,
            preVote: outbound.message.preVote,
            granted: true,
          });
        }
      }
    }
    expect(a.role).toBe('leader');
    a.takeReady();
    a.persisted(3, a.status().generation);
    // b acknowledges entry 2 (generation 2) but not the new leader's empty entry 3.
    const ack: AppendResponse = {
      kind: 'append-response',
      generation: a.status().generation,
      rejected: false,
      index: 2,
      hintIndex: 0,
      hintGeneration: 0,
    };
    a.step('b', ack);
    expect(a.status().highWaterMark).toBe(0);
    a.step('b', { ...ack, index: 3 });
    expect(a.status().highWaterMark).toBe(3);
  });
});

describe('rule 4: truncate only on conflict, never at or below the high-water mark', () => {
  it('a duplicate or reordered append does not truncate later entries', () => {
    const b = follower('b', entries([1, 1, 1, 1, 1]), 1);
    b.step('a', {
      kind: 'append',
      generation: 1,
      prevIndex: 1,
      prevGeneration: 1,
      entries: [entry(2, 1)],
      highWaterMark: 0,
    });
    expect(b.status().lastIndex).toBe(5);
    expect(b.takeReady().entriesToPersist).toEqual([]);
  });

  it('replaces a conflicting suffix above the high-water mark', () => {
    const b = follower('b', entries([1, 1, 1, 1]), 2);
    b.step('a', {
      kind: 'append',
      generation: 2,
      prevIndex: 2,
      prevGeneration: 1,
      entries: [entry(3, 2, 'new')],
      highWaterMark: 2,
    });
    expect(b.status().lastIndex).toBe(3);
    expect(b.entryAt(3)?.generation).toBe(2);
    const ready = b.takeReady();
    expect(ready.entriesToPersist.map((e) => [e.index, e.generation])).toEqual([[3, 2]]);
  });

  it('treats a conflict at or below the high-water mark as a safety violation', () => {
    const b = follower('b', entries([1, 1, 1]), 1);
    b.step('a', {
      kind: 'append',
      generation: 1,
      prevIndex: 3,
      prevGeneration: 1,
      entries: [],
      highWaterMark: 3,
    });
    expect(b.status().highWaterMark).toBe(3);
    expect(() =>
      b.step('a', {
        kind: 'append',
        generation: 1,
        prevIndex: 1,
        prevGeneration: 1,
        entries: [entry(2, 2)],
        highWaterMark: 3,
      }),
    ).toThrow(SafetyViolationError);
  });

  it('a stale leader’s uncommitted tail is truncated when a new leader replicates', () => {
    const network = threeNodeClusterWithLeaderA();
    network.isolate('a');
    network.core('a').propose(bytes('lost-1'));
    network.core('a').propose(bytes('lost-2'));
    network.deliver();
    expect(network.core('a').status().lastIndex).toBe(3);
    network.runUntil(() => (network.leader() ?? 'a') !== 'a');
    const leader = network.leader() ?? 'a';
    network.core(leader).propose(bytes('kept'));
    network.deliver();
    network.heal();
    network.run(30);
    const a = network.core('a');
    expect(a.role).toBe('follower');
    expect(a.status().lastIndex).toBe(3);
    expect(a.entryAt(2)?.kind).toBe('empty');
    expect(a.entryAt(3)?.command).toEqual(bytes('kept'));
  });
});

describe('rule 5: reject older generations, adopt newer ones', () => {
  it('rejects an append from an older generation and answers with the current one', () => {
    const b = follower('b', entries([1, 3]), 3);
    b.step('a', {
      kind: 'append',
      generation: 2,
      prevIndex: 2,
      prevGeneration: 3,
      entries: [entry(3, 2)],
      highWaterMark: 2,
    });
    expect(b.status().lastIndex).toBe(2);
    const answer = messagesOfKind(b.takeReady().messagesAfterPersist, 'append-response')[0];
    expect(answer).toMatchObject({ generation: 3, rejected: true });
  });

  it('a leader that sees a higher generation steps down and adopts it', () => {
    const network = threeNodeClusterWithLeaderA();
    const a = network.core('a');
    a.step('b', {
      kind: 'append-response',
      generation: 9,
      rejected: true,
      index: 0,
      hintIndex: 0,
      hintGeneration: 0,
    });
    expect(a.role).toBe('follower');
    expect(a.status().generation).toBe(9);
    expect(a.takeReady().hardState).toEqual({ generation: 9, votedFor: undefined });
  });

  it('a stale leader after a pause is rejected, steps down, and its appends are not stored', () => {
    const network = threeNodeClusterWithLeaderA();
    network.isolate('a');
    // a is paused (a long GC or SIGSTOP): it neither ticks nor hears anything.
    for (let i = 0; i < 100 && network.leader() === 'a'; i++) {
      network.tick('b');
      network.tick('c');
      network.deliver();
    }
    const leader = network.leader();
    expect(leader).not.toBe('a');
    network.core(leader ?? 'b').propose(bytes('new'));
    network.deliver();
    network.heal();
    // a wakes up and still believes it leads generation 1.
    expect(network.core('a').role).toBe('leader');
    network.core('a').propose(bytes('stale'));
    network.deliver();
    expect(network.core('a').role).toBe('follower');
    expect(network.core('a').status().generation).toBe(2);
    for (const id of ['b', 'c']) {
      const stored = network.storage.get(id)?.entries ?? [];
      expect(stored.some((e) => e.command.length > 0 && e.generation === 1)).toBe(false);
    }
  });
});

describe('rule 6: pre-vote and check-quorum', () => {
  it('a partitioned server rejoining does not depose the leader (pre-vote)', () => {
    const network = threeNodeClusterWithLeaderA();
    network.isolate('c');
    network.tick('c', 200);
    network.deliver();
    expect(network.core('c').status().generation).toBe(1);
    network.heal();
    network.run(30);
    expect(network.leader()).toBe('a');
    expect(network.core('a').status().generation).toBe(1);
  });

  it('a follower that heard from the leader recently ignores a vote request (lease)', () => {
    const network = threeNodeClusterWithLeaderA();
    const b = network.core('b');
    b.step('c', {
      kind: 'vote-request',
      generation: 2,
      preVote: false,
      leadershipTransfer: false,
      lastLogIndex: 99,
      lastLogGeneration: 1,
    });
    expect(b.status().generation).toBe(1);
    expect(b.status().leaderId).toBe('a');
    expect(messagesOfKind(b.takeReady().messagesAfterPersist, 'vote-response')).toHaveLength(0);
  });

  it('a leader cut off from the majority steps down within an election timeout', () => {
    const network = threeNodeClusterWithLeaderA();
    network.isolate('a');
    for (let i = 0; i < 20; i++) {
      network.tick('a');
      network.deliver();
    }
    expect(network.core('a').role).toBe('follower');
  });

  it('a healthy leader does not step down', () => {
    const network = threeNodeClusterWithLeaderA();
    network.cut('a', 'c');
    network.cut('c', 'a');
    network.run(50);
    expect(network.core('a').role).toBe('leader');
  });
});

describe('rule 7: linearizable reads via read barriers', () => {
  it('permits a read only after a majority confirms leadership, at the high-water mark', () => {
    const network = threeNodeClusterWithLeaderA();
    const a = network.core('a');
    a.propose(bytes('x'));
    network.deliver();
    a.readBarrier(1);
    const ready = a.takeReady();
    expect(ready.readsPermitted).toEqual([]);
    const heartbeats = messagesOfKind(ready.messagesToSendNow, 'heartbeat');
    expect(heartbeats).toHaveLength(2);
    const round = heartbeats[0]?.readRound ?? 0;
    a.step('b', { kind: 'heartbeat-response', generation: 1, readRound: round });
    expect(a.takeReady().readsPermitted).toEqual([{ requestId: 1, index: 2 }]);
  });

  it('in five servers, one confirmation is not enough: it takes a majority', () => {
    const network = new CoreNetwork(['a', 'b', 'c', 'd', 'e']);
    network.elect('a');
    const a = network.core('a');
    a.readBarrier(1);
    const round = messagesOfKind(a.takeReady().messagesToSendNow, 'heartbeat')[0]?.readRound ?? 0;
    a.step('b', { kind: 'heartbeat-response', generation: 1, readRound: round });
    a.step('c', { kind: 'heartbeat-response', generation: 1, readRound: round - 1 });
    expect(a.takeReady().readsPermitted).toEqual([]);
    a.step('c', { kind: 'heartbeat-response', generation: 1, readRound: round });
    expect(a.takeReady().readsPermitted).toEqual([{ requestId: 1, index: 1 }]);
  });

  it('a leader isolated from the majority never permits a read and refuses it on stepping down', () => {
    const network = threeNodeClusterWithLeaderA();
    network.isolate('a');
    network.core('a').readBarrier(7);
    for (let i = 0; i < 25; i++) {
      network.tick('a');
      network.deliver();
    }
    expect(network.readsPermitted.get('a') ?? []).toEqual([]);
    expect(network.readsRefused.get('a')).toEqual([
      { requestId: 7, reason: 'leadership-lost', leaderId: undefined },
    ]);
  });

  it('waits until the new leader has committed an entry of its generation', () => {
    const network = threeNodeClusterWithLeaderA();
    network.core('a').propose(bytes('one'));
    network.deliver();
    network.crash('a');
    // The new leader's empty entry is stored by the others, but no acknowledgement gets back.
    network.dropWhen = (m) => m.message.kind === 'append-response';
    const leader = network.runUntilLeaderElected();
    const core = network.core(leader);
    core.readBarrier(3);
    network.run(3);
    expect(network.readsPermitted.get(leader) ?? []).toEqual([]);
    network.dropWhen = undefined;
    network.run(3);
    const permit = network.readsPermitted.get(leader)?.[0];
    expect(permit?.requestId).toBe(3);
    expect(permit?.index).toBe(3);
  });

  it('batches concurrent reads onto one heartbeat round', () => {
    const network = threeNodeClusterWithLeaderA();
    const a = network.core('a');
    for (let id = 1; id <= 10; id++) a.readBarrier(id);
    const ready = a.takeReady();
    expect(messagesOfKind(ready.messagesToSendNow, 'heartbeat')).toHaveLength(2);
    for (const outbound of ready.messagesToSendNow) network.queue.push({ from: 'a', ...outbound });
    network.deliver();
    expect(network.readsPermitted.get('a')?.map((read) => read.requestId)).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
    ]);
  });

  it('a lost round is confirmed by the tick’s heartbeats, and the reads after it follow', () => {
    const network = threeNodeClusterWithLeaderA();
    const a = network.core('a');
    a.readBarrier(1);
    a.takeReady(); // the round's heartbeats are lost
    a.readBarrier(2);
    for (let i = 0; i < 25; i++) {
      network.tick('a');
      network.deliver();
    }
    expect(network.readsPermitted.get('a')?.map((read) => read.requestId)).toEqual([1, 2]);
  });

  it('a follower refuses a read with the leader’s id', () => {
    const network = threeNodeClusterWithLeaderA();
    network.core('b').readBarrier(1);
    expect(network.core('b').takeReady().readsRefused).toEqual([
      { requestId: 1, reason: 'not-leader', leaderId: 'a' },
    ]);
  });
});

describe('rule 8 (core part): definite refusals', () => {
  it('a follower refuses a proposal definitely and names the leader', () => {
    const network = threeNodeClusterWithLeaderA();
    expect(network.core('b').propose(bytes('x'))).toEqual({
      accepted: false,
      reason: 'not-leader',
      leaderId: 'a',
    });
  });

  it('a leader transferring leadership refuses proposals', () => {
    const network = threeNodeClusterWithLeaderA();
    network.cut('a', 'b');
    network.core('a').propose(bytes('x'));
    network.deliver();
    network.core('a').transferLeadership('b');
    expect(network.core('a').propose(bytes('y'))).toMatchObject({
      accepted: false,
      reason: 'leadership-transfer',
    });
  });
});

describe('replication', () => {
  it('replicates, commits and applies the same entries everywhere', () => {
    const network = threeNodeClusterWithLeaderA();
    for (let i = 0; i < 20; i++) network.core('a').propose(bytes(`c${i}`));
    network.deliver();
    network.run(2);
    for (const id of ['a', 'b', 'c']) {
      const applied = network.applied.get(id) ?? [];
      expect(applied.map((e) => e.index)).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
    }
  });

  it('batches proposals made before one Ready into one append per follower', () => {
    const network = threeNodeClusterWithLeaderA();
    const a = network.core('a');
    for (let i = 0; i < 50; i++) a.propose(bytes(`c${i}`));
    const appends = messagesOfKind(a.takeReady().messagesToSendNow, 'append');
    expect(appends).toHaveLength(2);
    expect(appends[0]?.entries).toHaveLength(50);
  });

  it('a rise of the high-water mark that an append of the same Ready carries sends no heartbeat', () => {
    const network = threeNodeClusterWithLeaderA();
    network.run(2);
    const a = network.core('a');
    const index = a.propose(bytes('x'));
    expect(index).toMatchObject({ accepted: true, index: 2 });
    const first = messagesOfKind(a.takeReady().messagesToSendNow, 'append');
    expect(first).toHaveLength(2);
    a.persisted(2, 1);
    // b's acknowledgement commits entry 2; a proposal in the same Ready appends entry 3.
    const ack = { kind: 'append-response', generation: 1, rejected: false, index: 2 } as const;
    a.step('b', { ...ack, hintIndex: 0, hintGeneration: 0 });
    expect(a.highWaterMark).toBe(2);
    a.propose(bytes('y'));
    const ready = a.takeReady();
    const appends = ready.messagesToSendNow.filter((o) => o.message.kind === 'append');
    expect(appends.map((o) => o.to).sort()).toEqual(['b', 'c']);
    for (const { message } of appends) expect(message).toMatchObject({ highWaterMark: 2 });
    // The appends tell both followers (c commits through 2 once it stores entry 2, which the
    // append to c reaches); a heartbeat beside them would say nothing new.
    expect(messagesOfKind(ready.messagesToSendNow, 'heartbeat')).toEqual([]);
    const b = network.core('b');
    const toB = appends.find((o) => o.to === 'b')!.message;
    b.step('a', first[0]!);
    b.step('a', toB);
    expect(b.highWaterMark).toBe(2);
  });

  it('a rise of the high-water mark with nothing to append tells the follower by a heartbeat', () => {
    const network = threeNodeClusterWithLeaderA();
    network.run(2);
    const a = network.core('a');
    a.propose(bytes('x'));
    a.takeReady();
    a.persisted(2, 1);
    a.step('b', {
      kind: 'append-response',
      generation: 1,
      rejected: false,
      index: 2,
      hintIndex: 0,
      hintGeneration: 0,
    });
    expect(a.highWaterMark).toBe(2);
    const heartbeats = a
      .takeReady()
      .messagesToSendNow.flatMap(({ to, message }) =>
        message.kind === 'heartbeat' ? [[to, message.highWaterMark]] : [],
      );
    // b stores entry 2 and learns it is committed; c has not acknowledged entry 2 yet, so a
    // heartbeat could tell it no more than the mark it already holds.
    expect(heartbeats).toEqual([['b', 2]]);
  });

  it('keeps at most the in-flight window of appends outstanding to a silent follower', () => {
    const network = new CoreNetwork(['a', 'b', 'c'], { maxInflightAppends: 3 });
    network.elect('a');
    network.run(2);
    network.cut('b', 'a');
    const a = network.core('a');
    let sentToB = 0;
    for (let i = 0; i < 10; i++) {
      a.propose(bytes(`c${i}`));
      const ready = a.takeReady();
      sentToB += ready.messagesToSendNow.filter(
        (o) => o.to === 'b' && o.message.kind === 'append',
      ).length;
      a.persisted(a.status().lastIndex, 1);
    }
    expect(sentToB).toBe(3);
  });

  it('finds the match point past a long divergent tail in few round trips (fast back-off)', () => {
    const network = new CoreNetwork(['a', 'b', 'c']);
    const divergent = entries([1, ...Array.from({ length: 100 }, () => 2)]);
    const leaderLog = entries([1, 3, 3]);
    network.storage.set('b', {
      hardState: { generation: 2, votedFor: undefined },
      snapshot: undefined,
      entries: divergent,
    });
    network.storage.set('a', {
      hardState: { generation: 3, votedFor: undefined },
      snapshot: undefined,
      entries: leaderLog,
    });
    network.storage.set('c', {
      hardState: { generation: 3, votedFor: undefined },
      snapshot: undefined,
      entries: leaderLog,
    });
    for (const id of ['a', 'b', 'c']) network.start(id);
    network.elect('a');
    network.run(3);
    const rejections = network.delivered.filter(
      (m) => m.from === 'b' && m.message.kind === 'append-response' && m.message.rejected,
    );
    expect(rejections.length).toBeLessThanOrEqual(3);
    expect(network.core('b').status().lastIndex).toBe(4);
    expect(network.core('b').entryAt(2)?.generation).toBe(3);
  });

  it('a restarted follower catches up from the log', () => {
    const network = threeNodeClusterWithLeaderA();
    network.crash('c');
    for (let i = 0; i < 10; i++) network.core('a').propose(bytes(`c${i}`));
    network.deliver();
    network.start('c');
    network.run(5);
    expect(network.core('c').status().highWaterMark).toBe(11);
    expect(network.applied.get('c')).toHaveLength(11);
  });

  it('a follower behind the low-water mark catches up from a snapshot sent in chunks', () => {
    const network = new CoreNetwork(['a', 'b', 'c'], { snapshotChunkBytes: 4 });
    network.elect('a');
    network.crash('c');
    const a = network.core('a');
    for (let i = 0; i < 10; i++) a.propose(bytes(`c${i}`));
    network.deliver();
    const snapshot = { index: 8, generation: 1, data: bytes('state-through-8') };
    network.snapshotTaken('a', snapshot);
    expect(a.status().lowWaterMark).toBe(8);
    network.start('c');
    network.run(10);
    const c = network.core('c');
    expect(c.status().highWaterMark).toBe(11);
    expect(network.storage.get('c')?.snapshot).toEqual(snapshot);
    expect(network.applied.get('c')?.map((e) => e.index)).toEqual([9, 10, 11]);
    const chunks = network.delivered.filter(
      (m) => m.to === 'c' && m.message.kind === 'snapshot-chunk',
    );
    expect(chunks.length).toBeGreaterThanOrEqual(4);
  });

  it('an entry stored on a majority but acknowledged to no client survives a leader change', () => {
    const network = threeNodeClusterWithLeaderA();
    network.cut('b', 'a'); // b and c store it, but their acknowledgements never reach a
    network.cut('c', 'a');
    network.core('a').propose(bytes('unacked'));
    network.deliver();
    expect(network.core('a').status().highWaterMark).toBe(1);
    network.crash('a');
    network.heal();
    const leader = network.runUntilLeader();
    network.run(3);
    const applied = network.applied.get(leader) ?? [];
    expect(applied.map((e) => e.command)).toContainEqual(bytes('unacked'));
  });
});

describe('leadership transfer', () => {
  it('hands leadership to a caught-up follower', () => {
    const network = threeNodeClusterWithLeaderA();
    network.core('a').propose(bytes('x'));
    network.deliver();
    expect(network.core('a').transferLeadership('b')).toBe('b');
    network.deliver();
    expect(network.leader()).toBe('b');
    expect(network.core('a').role).toBe('follower');
    expect(network.core('b').status().generation).toBe(2);
  });

  it('catches the target up first, then hands over', () => {
    const network = threeNodeClusterWithLeaderA();
    network.cut('a', 'c');
    for (let i = 0; i < 5; i++) network.core('a').propose(bytes(`c${i}`));
    network.deliver();
    network.heal();
    network.core('a').transferLeadership('c');
    network.run(5);
    expect(network.leader()).toBe('c');
    expect(network.core('c').entryAt(6)?.command).toEqual(bytes('c4'));
  });
});

describe('status', () => {
  it('reports per-follower match index and lag on the leader', () => {
    const network = threeNodeClusterWithLeaderA();
    network.isolate('c');
    network.core('a').propose(bytes('x'));
    network.deliver();
    const status = network.core('a').status();
    expect(status).toMatchObject({ role: 'leader', lastIndex: 2, highWaterMark: 2 });
    const c = status.followers.find((f) => f.id === 'c');
    expect(c).toMatchObject({ matchIndex: 1, lag: 1 });
  });
});
