import { describe, expect, it } from 'vitest';
import { CoreNetwork } from './test-support/core-network.js';

// Failure detection through @x/heartbeat, on the core's tick clock.
describe.each(['fixed', 'phi'] as const)('failure detection (%s)', (failureDetector) => {
  it('a follower suspects a silent leader and a new leader is elected', () => {
    const network = new CoreNetwork(['a', 'b', 'c'], { failureDetector });
    const first = network.runUntilLeader();
    network.run(30);
    const follower = network.ids.find((id) => id !== first) ?? 'b';
    const before = network.core(follower).status();
    expect(before.failureDetector).toBe(failureDetector);
    expect(before.leaderSuspected).toBe(false);
    if (failureDetector === 'phi') expect(before.leaderPhi).toBeLessThan(8);
    else expect(before.leaderPhi).toBeUndefined();

    network.crash(first);
    let suspected = false;
    let second: string | undefined;
    for (let round = 0; round < 200 && second === undefined; round++) {
      network.tickAll();
      // A fixed timeout campaigns the moment it suspects; phi-accrual waits a random jitter more.
      for (const id of network.ids.filter((other) => other !== first)) {
        const status = network.core(id).status();
        suspected ||= status.leaderSuspected || status.role !== 'follower';
      }
      network.deliver();
      const leader = network.leader();
      if (leader !== undefined && leader !== first) second = leader;
    }
    expect(suspected).toBe(true);
    expect(second).toBeDefined();
  });

  it('a leader suspects silent followers, shows it per follower, and steps down (check-quorum)', () => {
    const network = new CoreNetwork(['a', 'b', 'c'], { failureDetector });
    const leader = network.runUntilLeader();
    network.run(30);
    const live = network.core(leader).status().followers;
    expect(live.map((follower) => follower.suspected)).toEqual([false, false]);
    if (failureDetector === 'phi') {
      for (const follower of live) expect(follower.phi).toBeLessThan(8);
    }

    network.isolate(leader);
    let sawSuspected = false;
    for (let i = 0; i < 100 && network.core(leader).role === 'leader'; i++) {
      network.tick(leader);
      const followers = network.core(leader).status().followers;
      sawSuspected ||= followers.every((follower) => follower.suspected);
      network.deliver();
    }
    expect(sawSuspected).toBe(true);
    expect(network.core(leader).role).toBe('follower');
  });
});

describe('fixed failure detection keeps the classic timing', () => {
  it('check-quorum: a leader steps down exactly one election timeout after its followers fall silent', () => {
    const network = new CoreNetwork(['a', 'b', 'c']);
    const leader = network.runUntilLeader();
    network.run(5);
    network.isolate(leader);
    let ticks = 0;
    while (network.core(leader).role === 'leader' && ticks < 100) {
      network.tick(leader);
      network.deliver();
      ticks++;
    }
    // Check-quorum runs every 10 ticks: the window with answers passes, the next one fails.
    expect(ticks).toBeGreaterThan(10);
    expect(ticks).toBeLessThanOrEqual(20);
  });
});
