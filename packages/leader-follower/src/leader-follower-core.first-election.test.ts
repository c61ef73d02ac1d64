import { describe, expect, it } from 'vitest';
import { LeaderFollowerCore } from './leader-follower-core.js';
import { CoreNetwork } from './test-support/core-network.js';

/** Ticks until the core campaigns (leaves the follower role); returns how many it took. */
function ticksUntilCampaign(core: LeaderFollowerCore, limit = 1000): number {
  for (let tick = 1; tick <= limit; tick++) {
    core.tick();
    if (core.role !== 'follower') return tick;
  }
  throw new Error('never campaigned');
}

function solo(advanceFirstElection: boolean, randomValue: number): LeaderFollowerCore {
  return new LeaderFollowerCore({
    id: 'a',
    members: ['a', 'b', 'c'],
    random: { next: () => randomValue },
    electionTimeoutTicks: 100,
    heartbeatIntervalTicks: 10,
    advanceFirstElection,
  });
}

describe('the first election after a start (advanceFirstElection)', () => {
  it('comes after [heartbeat interval, election timeout) ticks instead of [t, 2t)', () => {
    expect(ticksUntilCampaign(solo(false, 0))).toBe(100);
    expect(ticksUntilCampaign(solo(false, 0.999))).toBe(199);
    expect(ticksUntilCampaign(solo(true, 0))).toBe(10);
    expect(ticksUntilCampaign(solo(true, 0.999))).toBe(99);
  });

  it('only the first: later timeouts are full again', () => {
    const core = solo(true, 0);
    expect(ticksUntilCampaign(core)).toBe(10);
    // The pre-vote gets no answer here; the next campaign waits a whole timeout.
    expect(ticksUntilCampaign2(core)).toBe(100);
  });

  it('a server started early beside a live leader does not depose it', () => {
    const network = new CoreNetwork(['a', 'b', 'c'], { advanceFirstElection: true }, 3);
    const leader = network.runUntilLeader();
    const generation = network.core(leader).status().generation;
    const restarted = network.ids.find((id) => id !== leader) as string;
    network.crash(restarted);
    network.start(restarted);
    // Its early pre-vote is refused by the follower in the leader's lease; heartbeats win.
    network.run(300);
    expect(network.leader()).toBe(leader);
    expect(network.core(leader).status().generation).toBe(generation);
    expect(network.core(restarted).status().leaderId).toBe(leader);
  });

  it('a whole cluster restarted at once elects a leader within about one election timeout', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const network = new CoreNetwork(
        ['a', 'b', 'c'],
        { advanceFirstElection: true, electionTimeoutTicks: 100, heartbeatIntervalTicks: 10 },
        seed,
      );
      let rounds = 0;
      while (network.leader() === undefined && rounds < 1000) {
        network.run(1);
        rounds++;
      }
      // Without the advance the first campaign alone waits at least 100 ticks.
      expect(rounds).toBeLessThan(100 + 10);
    }
  });
});

/** Ticks until the core sends vote requests again (it is a pre-candidate already). */
function ticksUntilCampaign2(core: LeaderFollowerCore, limit = 1000): number {
  const voteRequests = (): number => {
    if (!core.hasReady()) return 0;
    const ready = core.takeReady();
    return [...ready.messagesToSendNow, ...ready.messagesAfterPersist].filter(
      (outbound) => outbound.message.kind === 'vote-request',
    ).length;
  };
  voteRequests();
  for (let tick = 1; tick <= limit; tick++) {
    core.tick();
    if (voteRequests() > 0) return tick;
  }
  throw new Error('never campaigned again');
}
