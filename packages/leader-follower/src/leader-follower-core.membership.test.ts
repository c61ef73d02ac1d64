// Membership changes in the core (issue 21): learners, single-server changes with their refusals,
// quorums that follow the configuration in force, removing the leader, and snapshots that carry
// the configuration. See docs/design.md, "Membership changes".
import { describe, expect, it } from 'vitest';
import type { ConfigurationChange } from './cluster-configuration.js';
import type { ConfigurationChangeResult } from './core-types.js';
import { CoreNetwork } from './test-support/core-network.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

function clusterWithLeaderA(ids = ['a', 'b', 'c']): CoreNetwork {
  const network = new CoreNetwork(ids);
  network.elect('a');
  network.run(5);
  expect(network.leader()).toBe('a');
  return network;
}

function change(network: CoreNetwork, id: string, request: ConfigurationChange) {
  const result = network.core(id).proposeConfigurationChange(request);
  network.run(20);
  return result;
}

function refusal(result: ConfigurationChangeResult): string | undefined {
  return result.accepted ? undefined : result.reason;
}

describe('membership changes', () => {
  it('adds a learner that receives the log but is never counted for commit', () => {
    const network = clusterWithLeaderA();
    network.addServer('d', ['a', 'b', 'c']);
    const added = change(network, 'a', { kind: 'add-learner', member: 'd' });
    expect(added.accepted).toBe(true);
    const leader = network.core('a');
    expect(leader.configuration).toEqual({ voters: ['a', 'b', 'c'], learners: ['d'] });
    network.core('a').propose(bytes('x'));
    network.run(20);
    expect(network.core('d').status().highWaterMark).toBe(leader.highWaterMark);
    expect(network.core('d').configuration.learners).toEqual(['d']);
    expect(leader.status().followers.find((f) => f.id === 'd')?.learner).toBe(true);

    // The leader with only the learner: nothing commits (a learner is never counted).
    network.partition(['a', 'd'], ['b', 'c']);
    const before = leader.highWaterMark;
    leader.propose(bytes('y'));
    network.run(5);
    expect(network.core('d').status().lastIndex).toBe(leader.status().lastIndex);
    expect(leader.highWaterMark).toBe(before);
  });

  it('never lets a learner campaign, and refuses its vote requests', () => {
    const network = clusterWithLeaderA();
    network.addServer('d', ['a', 'b', 'c']);
    change(network, 'a', { kind: 'add-learner', member: 'd' });
    network.isolate('d');
    network.run(100);
    const d = network.core('d').status();
    expect(d.role).toBe('follower');
    expect(d.generation).toBe(network.core('a').currentGeneration);
  });

  it('refuses changes while another is in flight, and before the leader committed its own entry', () => {
    const network = clusterWithLeaderA();
    network.addServer('d', ['a', 'b', 'c']);
    network.addServer('e', ['a', 'b', 'c']);
    const leader = network.core('a');
    network.partition(['a'], ['b', 'c', 'd', 'e']);
    expect(leader.proposeConfigurationChange({ kind: 'add-learner', member: 'd' }).accepted).toBe(
      true,
    );
    expect(refusal(leader.proposeConfigurationChange({ kind: 'add-learner', member: 'e' }))).toBe(
      'change-in-flight',
    );
    network.heal();
    network.run(20);
    expect(leader.proposeConfigurationChange({ kind: 'add-learner', member: 'e' }).accepted).toBe(
      true,
    );
    // A new leader that has not yet committed an entry of its generation may not change anything
    // (single-server changes' fix: an earlier leader's change could still be pending).
    network.run(20);
    network.crash('a');
    network.dropWhen = ({ message }) => message.kind === 'append-response';
    let next: string | undefined;
    for (let i = 0; i < 200 && next === undefined; i++) {
      network.run(1);
      next = ['b', 'c'].find((id) => network.core(id).role === 'leader');
    }
    expect(next).toBeDefined();
    const newLeader = network.core(next!);
    expect(refusal(newLeader.proposeConfigurationChange({ kind: 'remove', member: 'e' }))).toBe(
      'leader-not-ready',
    );
    network.dropWhen = undefined;
    network.run(5);
    expect(newLeader.proposeConfigurationChange({ kind: 'remove', member: 'e' }).accepted).toBe(
      true,
    );
  });

  it('refuses to promote a learner that is not caught up, and promotes one that is', () => {
    const network = clusterWithLeaderA();
    network.addServer('d', ['a', 'b', 'c']);
    network.isolate('d');
    change(network, 'a', { kind: 'add-learner', member: 'd' });
    const leader = network.core('a');
    for (let i = 0; i < 30; i++) leader.propose(bytes(`v${i}`));
    network.run(30);
    const early = leader.proposeConfigurationChange({ kind: 'promote', member: 'd' });
    expect(refusal(early)).toBe('learner-not-caught-up');
    if (!early.accepted) {
      expect(early.detail).toMatch(/can only promote a learner member which is in sync/);
    }
    network.heal();
    network.run(30);
    const promoted = change(network, 'a', { kind: 'promote', member: 'd' });
    expect(promoted.accepted).toBe(true);
    expect(leader.configuration).toEqual({ voters: ['a', 'b', 'c', 'd'], learners: [] });
    // Four voters: a quorum is three, so two cannot commit.
    network.partition(['a', 'b'], ['c', 'd']);
    const before = leader.highWaterMark;
    leader.propose(bytes('needs three'));
    network.run(5);
    expect(leader.highWaterMark).toBe(before);
  });

  it('refuses to promote a learner that has acknowledged nothing yet, however short the log', () => {
    const network = clusterWithLeaderA();
    network.addServer('d', ['a', 'b', 'c']);
    network.isolate('d');
    const leader = network.core('a');
    expect(leader.proposeConfigurationChange({ kind: 'add-learner', member: 'd' }).accepted).toBe(
      true,
    );
    // One tick: the change commits on a and b, d has had no time to answer anything.
    network.run(1);
    expect(leader.configuration.learners).toEqual(['d']);
    // Well within the lag limit and the election timeout, but d never answered.
    expect(refusal(leader.proposeConfigurationChange({ kind: 'promote', member: 'd' }))).toBe(
      'learner-not-caught-up',
    );
    network.heal();
    network.run(10);
    expect(change(network, 'a', { kind: 'promote', member: 'd' }).accepted).toBe(true);
  });

  it('refuses changes that do not apply: promoting a voter, adding a member, removing the last voter', () => {
    const network = clusterWithLeaderA();
    const leader = network.core('a');
    expect(refusal(leader.proposeConfigurationChange({ kind: 'promote', member: 'b' }))).toBe(
      'not-a-learner',
    );
    expect(refusal(leader.proposeConfigurationChange({ kind: 'add-learner', member: 'b' }))).toBe(
      'already-member',
    );
    expect(
      refusal(network.core('b').proposeConfigurationChange({ kind: 'remove', member: 'c' })),
    ).toBe('not-leader');
    const single = new CoreNetwork(['a']);
    single.runUntilLeader();
    single.run(3);
    expect(
      refusal(single.core('a').proposeConfigurationChange({ kind: 'remove', member: 'a' })),
    ).toBe('no-voter');
  });

  it('refuses a removal that leaves no live majority of the voters', () => {
    const network = clusterWithLeaderA();
    network.crash('c');
    network.run(30);
    expect(
      refusal(network.core('a').proposeConfigurationChange({ kind: 'remove', member: 'b' })),
    ).toBe('not-enough-started-members');
  });

  it('removes a follower: it stops counting at once, learns it was removed, and never campaigns', () => {
    const network = clusterWithLeaderA();
    const removed = change(network, 'a', { kind: 'remove', member: 'c' });
    expect(removed.accepted).toBe(true);
    const leader = network.core('a');
    expect(leader.configuration.voters).toEqual(['a', 'b']);
    const c = network.core('c');
    expect(c.configuration.voters).toEqual(['a', 'b']);
    network.run(100);
    expect(c.role).toBe('follower');
    expect(leader.role).toBe('leader');
    expect(leader.status().followers.map((f) => f.id)).toEqual(['b']);
  });

  it('reports the removal once the entry removing this server is committed', () => {
    const network = clusterWithLeaderA();
    const c = network.core('c');
    let reported = 0;
    const original = c.takeReady.bind(c);
    c.takeReady = () => {
      const ready = original();
      if (ready.removedFromCluster) reported++;
      return ready;
    };
    change(network, 'a', { kind: 'remove', member: 'c' });
    network.core('a').propose(bytes('after'));
    network.run(20);
    expect(reported).toBe(1);
  });

  it('removes the leader: it leads until the removal commits, then steps down and the rest elect', () => {
    const network = clusterWithLeaderA();
    const leader = network.core('a');
    const generation = leader.currentGeneration;
    const result = leader.proposeConfigurationChange({ kind: 'remove', member: 'a' });
    expect(result.accepted).toBe(true);
    // Appended, not yet committed: still the leader, counting only b and c.
    expect(leader.role).toBe('leader');
    expect(leader.configuration.voters).toEqual(['b', 'c']);
    network.run(40);
    expect(leader.role).toBe('follower');
    expect(leader.highWaterMark).toBeGreaterThanOrEqual(result.accepted ? result.index : 0);
    const next = network.runUntilLeader();
    expect(['b', 'c']).toContain(next);
    expect(network.core(next).currentGeneration).toBeGreaterThan(generation);
    network.run(100);
    expect(leader.role).toBe('follower');
    expect(network.leader()).toBe(next);
  });

  it('lets a new leader inherit several configuration entries above its mark (simulation seed 38)', () => {
    // After a restart every server's high-water mark is back at its snapshot: a new leader's
    // log holds earlier leaders' configuration entries above its mark, committed or not. Only
    // its own entries count toward "one change in flight"; its empty entry commits the rest.
    const network = clusterWithLeaderA();
    network.addServer('d', ['a', 'b', 'c']);
    network.addServer('e', ['a', 'b', 'c']);
    expect(change(network, 'a', { kind: 'add-learner', member: 'd' }).accepted).toBe(true);
    expect(change(network, 'a', { kind: 'add-learner', member: 'e' }).accepted).toBe(true);
    for (const id of network.ids) {
      network.crash(id);
      network.start(id);
    }
    const leader = network.runUntilLeader(400);
    const core = network.core(leader);
    expect(core.configuration).toEqual({ voters: ['a', 'b', 'c'], learners: ['d', 'e'] });
    network.run(20);
    expect(core.highWaterMark).toBeGreaterThanOrEqual(core.configurationIndex);
    expect(change(network, leader, { kind: 'promote', member: 'd' }).accepted).toBe(true);
  });

  it('keeps the configuration through snapshots: a new member catches up from one and restarts with it', () => {
    const network = clusterWithLeaderA();
    const leader = network.core('a');
    network.addServer('d', ['a', 'b', 'c']);
    network.isolate('d');
    change(network, 'a', { kind: 'add-learner', member: 'd' });
    for (let i = 0; i < 10; i++) leader.propose(bytes(`v${i}`));
    network.run(20);
    const index = leader.highWaterMark;
    network.snapshotTaken('a', {
      index,
      generation: leader.generationAt(index)!,
      data: bytes('state'),
    });
    expect(leader.lowWaterMark).toBe(index);
    network.heal();
    network.run(40);
    const d = network.core('d');
    expect(d.status().snapshotIndex).toBe(index);
    expect(d.configuration).toEqual({ voters: ['a', 'b', 'c'], learners: ['d'] });
    network.crash('d');
    network.start('d');
    expect(network.core('d').configuration).toEqual({ voters: ['a', 'b', 'c'], learners: ['d'] });
    // The leader restarts from its snapshot alone and still knows d.
    network.crash('a');
    network.storage.get('a')!.entries = network.storage
      .get('a')!
      .entries.filter((entry) => entry.index > index);
    network.start('a');
    expect(network.core('a').configuration.learners).toEqual(['d']);
  });
});
