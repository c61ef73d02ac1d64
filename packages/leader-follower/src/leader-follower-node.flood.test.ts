import { seededRandom } from '@x/wal/testing';
import { describe, expect, it } from 'vitest';
import { TooManyRequestsError } from './errors.js';
import { LeaderFollowerNode, type LeaderFollowerNodeOptions } from './leader-follower-node.js';
import { MemoryNodeStorage } from './memory-node-storage.js';
import { ManualTime } from './test-support/manual-time.js';
import { settle } from './test-support/node-event-loop.js';

// A flood: far more proposals offered at once than a node may hold. Those past its bounds are
// refused at once with a definite TooManyRequestsError, what it holds stays within the bounds,
// and every proposal it accepted is committed and applied on every member.

const FLOOD = 100_000;
const COMMAND_BYTES = 100;

interface Member {
  readonly node: LeaderFollowerNode;
  readonly applied: Map<number, number>;
}

/** Three members on in-memory storage and an in-process network, on virtual time. */
async function startCluster(tuning: Partial<LeaderFollowerNodeOptions>) {
  const time = new ManualTime();
  const names = ['n1', 'n2', 'n3'];
  const handlers = new Map<string, (from: string, type: number, payload: Uint8Array) => void>();
  const members = new Map<string, Member>();
  for (const [position, name] of names.entries()) {
    const applied = new Map<number, number>();
    const node = await LeaderFollowerNode.open({
      id: name,
      members: names,
      storage: new MemoryNodeStorage({ random: seededRandom(position + 1) }),
      transport: {
        send: (to, type, payload) => {
          setImmediate(() => handlers.get(to)?.(name, type, payload));
        },
        onMessage: (handler) => handlers.set(name, handler),
      },
      stateMachine: {
        apply: (index, command) => {
          const sequence = new DataView(command.buffer, command.byteOffset).getUint32(0);
          applied.set(index, sequence);
          return sequence;
        },
        snapshot: () => new Uint8Array(),
        restore: () => undefined,
      },
      clock: time,
      timers: time,
      random: seededRandom(10 + position),
      snapshotEveryEntries: Number.MAX_SAFE_INTEGER,
      ...tuning,
    });
    node.start();
    members.set(name, { node, applied });
  }
  let leader: LeaderFollowerNode | undefined;
  for (let step = 0; step < 100 && leader === undefined; step++) {
    time.advance(100);
    await settle();
    leader = [...members.values()].find((member) => member.node.role === 'leader')?.node;
  }
  if (leader === undefined) throw new Error('no leader elected');
  // The leader's own entry of its generation is committed before the flood.
  await drive(time, leader.readBarrier());
  return { time, members: [...members.values()], leader };
}

function commandFor(sequence: number): Uint8Array {
  const command = new Uint8Array(COMMAND_BYTES);
  new DataView(command.buffer).setUint32(0, sequence);
  return command;
}

/** Offers FLOOD proposals at once; sorts them into accepted (index by sequence) and refused. */
async function flood(leader: LeaderFollowerNode, time: ManualTime) {
  const refusals: unknown[] = [];
  const accepted: { sequence: number; result: Promise<unknown> }[] = [];
  let maxPending = 0;
  let maxUncommitted = 0;
  for (let sequence = 0; sequence < FLOOD; sequence++) {
    let refused = false;
    const result = leader.propose(commandFor(sequence));
    result.catch((error: unknown) => {
      refused = true;
      refusals.push(error);
    });
    // A refusal is immediate: the promise is already rejected, so one turn settles it.
    await Promise.resolve();
    await Promise.resolve();
    if (!refused) accepted.push({ sequence, result });
    if (sequence % 1000 === 0) {
      const status = leader.status();
      maxPending = Math.max(maxPending, status.pendingProposals);
      maxUncommitted = Math.max(maxUncommitted, status.uncommittedBytes);
    }
  }
  const status = leader.status();
  maxPending = Math.max(maxPending, status.pendingProposals);
  maxUncommitted = Math.max(maxUncommitted, status.uncommittedBytes);
  // Drive the cluster until every accepted proposal has its answer.
  let answered = false;
  const all = Promise.all(accepted.map(({ result }) => result)).finally(() => {
    answered = true;
  });
  for (let step = 0; step < 10_000 && !answered; step++) {
    await settle();
    time.advance(100);
  }
  const results = await all;
  return { refusals, accepted, results, maxPending, maxUncommitted };
}

describe('a node flooded with proposals', () => {
  it(
    'refuses those past the pending-proposal bound, holds no more, and loses none it accepted',
    {
      timeout: 120_000,
    },
    async () => {
      const maxPendingProposals = 20_000;
      const { time, members, leader } = await startCluster({ maxPendingProposals });
      const outcome = await flood(leader, time);
      expect(outcome.accepted.length).toBeGreaterThan(0);
      expect(outcome.refusals.length).toBe(FLOOD - outcome.accepted.length);
      for (const refusal of outcome.refusals) {
        expect(refusal).toBeInstanceOf(TooManyRequestsError);
        expect(refusal).toMatchObject({ bound: 'pending-proposals', definite: true });
        expect((refusal as TooManyRequestsError).retryAfterMs).toBeGreaterThan(0);
      }
      expect(outcome.maxPending).toBeLessThanOrEqual(maxPendingProposals);
      expect(outcome.results).toEqual(outcome.accepted.map(({ sequence }) => sequence));
      await expectAppliedEverywhere(time, members, outcome.accepted.length);
      expect(leader.status()).toMatchObject({ pendingProposals: 0, uncommittedBytes: 0 });
      // Once the backlog is applied, proposals are admitted again.
      const again = leader.propose(commandFor(FLOOD));
      time.advance(100);
      await settle();
      expect(await again).toBe(FLOOD);
      await Promise.all(members.map(({ node }) => node.close()));
    },
  );

  it(
    'refuses those past the uncommitted-bytes bound (etcd MaxUncommittedEntriesSize)',
    {
      timeout: 120_000,
    },
    async () => {
      const maxUncommittedBytes = 512 * 1024;
      const { time, members, leader } = await startCluster({ maxUncommittedBytes });
      const outcome = await flood(leader, time);
      expect(outcome.refusals.length).toBe(FLOOD - outcome.accepted.length);
      expect(outcome.refusals.length).toBeGreaterThan(0);
      for (const refusal of outcome.refusals) {
        expect(refusal).toMatchObject({ bound: 'uncommitted-bytes', definite: true });
      }
      expect(outcome.maxUncommitted).toBeLessThanOrEqual(maxUncommittedBytes);
      expect(outcome.results).toEqual(outcome.accepted.map(({ sequence }) => sequence));
      await expectAppliedEverywhere(time, members, outcome.accepted.length);
      await Promise.all(members.map(({ node }) => node.close()));
    },
  );

  it('refuses linearizable reads past the pending-read bound', async () => {
    const { time, members, leader } = await startCluster({ maxPendingReads: 100 });
    const reads = Array.from({ length: 1000 }, () => leader.readBarrier());
    const outcomes = await drive(time, Promise.allSettled(reads));
    const served = outcomes.filter((outcome) => outcome.status === 'fulfilled');
    const refused = outcomes.filter((outcome) => outcome.status === 'rejected');
    expect(served.length).toBe(100);
    for (const refusal of refused) {
      expect(refusal.reason).toMatchObject({ bound: 'pending-reads', definite: true });
    }
    expect(leader.status().pendingReads).toBe(0);
    await Promise.all(members.map(({ node }) => node.close()));
  });
});

async function drive<T>(time: ManualTime, promise: Promise<T>): Promise<T> {
  let done = false;
  void promise.finally(() => {
    done = true;
  });
  for (let step = 0; step < 1000 && !done; step++) {
    await settle();
    time.advance(100);
  }
  return promise;
}

/** Every member applied the same commands; the leader's proposals all among them, once each. */
async function expectAppliedEverywhere(
  time: ManualTime,
  members: readonly Member[],
  acceptedCount: number,
): Promise<void> {
  // Followers learn the high-water mark from the leader's next heartbeat.
  const caughtUp = () => new Set(members.map(({ node }) => node.appliedThrough)).size === 1;
  for (let step = 0; step < 100 && !caughtUp(); step++) {
    time.advance(100);
    await settle();
  }
  const [first, ...others] = members;
  const sequences = [...first!.applied.values()];
  expect(new Set(sequences).size).toBe(acceptedCount);
  for (const other of others) expect(other.applied).toEqual(first!.applied);
}
