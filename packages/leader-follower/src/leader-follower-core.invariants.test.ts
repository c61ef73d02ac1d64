import { describe, expect, it } from 'vitest';
import type { CoreContext } from './core-context.js';
import type { FollowerReplication } from './follower-replication.js';
import { InvariantViolation, type CoreInvariant } from './invariant-violation.js';
import { LeaderFollowerCore } from './leader-follower-core.js';
import type { LogEntry } from './log-entry.js';
import type { ReplicaState } from './replica-state.js';
import { CoreNetwork } from './test-support/core-network.js';
import { seededRandom } from './test-support/seeded-random.js';

// Each assertion of the core, tripped by an invalid input or by a broken state injected through
// the core's private parts (the "test hook": what a bug elsewhere would leave behind).

interface CoreInternals {
  readonly replica: ReplicaState;
  readonly follower: FollowerReplication;
  readonly election: { readonly core: CoreContext & { recordVote(candidate: string): void } };
  readonly generationClock: { observe(generation: number): boolean; next(vote?: string): number };
}
const internals = (core: LeaderFollowerCore): CoreInternals => core as unknown as CoreInternals;

const entry = (index: number, generation: number): LogEntry => ({
  index,
  generation,
  kind: 'command',
  command: new TextEncoder().encode(`e${index}`),
});

function follower(): LeaderFollowerCore {
  return new LeaderFollowerCore({
    id: 'b',
    members: ['a', 'b', 'c'],
    random: seededRandom(3),
    hardState: { generation: 2, votedFor: undefined },
    entries: [entry(1, 1), entry(2, 2), entry(3, 2)],
  });
}

/** A follower at generation 2 that knows entries 1..2 are committed. */
function committedFollower(): LeaderFollowerCore {
  const core = follower();
  core.step('a', { kind: 'heartbeat', generation: 2, highWaterMark: 2, readRound: 0 });
  expect(core.highWaterMark).toBe(2);
  return core;
}

function expectViolation(action: () => void, invariant: CoreInvariant): void {
  let thrown: unknown;
  try {
    action();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(InvariantViolation);
  expect((thrown as InvariantViolation).invariant).toBe(invariant);
}

describe('the core fails stop on a broken invariant', () => {
  it('applied <= high-water mark: a driver reporting an uncommitted index applied', () => {
    const core = committedFollower();
    expectViolation(() => core.applied(3), 'applied-beyond-high-water-mark');
  });

  it('high-water mark <= last index', () => {
    const core = committedFollower();
    internals(core).replica.highWaterMark = 9;
    expectViolation(() => core.tick(), 'high-water-mark-beyond-last-index');
  });

  it('the high-water mark never moves back', () => {
    const core = committedFollower();
    internals(core).replica.highWaterMark = 1;
    expectViolation(() => core.tick(), 'high-water-mark-moved-back');
  });

  it('the generation never moves back', () => {
    const core = committedFollower();
    Object.defineProperty(core, 'generationClock', {
      value: { current: 1, votedFor: undefined, observe: () => false },
    });
    expectViolation(() => core.tick(), 'generation-moved-back');
  });

  it('at most one vote per generation', () => {
    const core = follower();
    core.step('a', {
      kind: 'vote-request',
      generation: 3,
      preVote: false,
      leadershipTransfer: false,
      lastLogIndex: 3,
      lastLogGeneration: 2,
    });
    expect(core.status().votedFor).toBe('a');
    expectViolation(
      () => internals(core).election.core.recordVote('c'),
      'second-vote-in-generation',
    );
  });

  it('a truncation never crosses the high-water mark: a conflicting append below it', () => {
    const core = committedFollower();
    expectViolation(
      () =>
        core.step('a', {
          kind: 'append',
          generation: 3,
          prevIndex: 1,
          prevGeneration: 1,
          entries: [entry(2, 3)],
          highWaterMark: 2,
        }),
      'truncation-below-high-water-mark',
    );
  });

  it('a leader never truncates its own log', () => {
    const network = new CoreNetwork(['a', 'b', 'c']);
    network.elect('a');
    const leader = network.core('a');
    expect(leader.role).toBe('leader');
    expectViolation(
      () => internals(leader).follower.truncateAfter(leader.status().lastIndex, () => 'test'),
      'leader-truncated-own-log',
    );
  });
});
