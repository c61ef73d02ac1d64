/**
 * The lock recipe (`src/recipes/`: lease + txn on create revision + watch of the predecessor)
 * against real kv-node processes: five contenders, spread over three members, take the lock in
 * turn and each increments a counter with a txn fenced by its lock key's create revision (its
 * fencing token), while the leader is killed and restarted, and one contender plays a holder
 * paused past its TTL (it stops renewing its lease while holding the lock, and writes only after
 * the cluster expired it).
 *
 * What must hold: every fenced increment the cluster accepted was applied exactly once (the
 * counter's value and its version both equal the number accepted), the accepted increments'
 * tokens grow in the order they were applied (two holders never acted with a valid token at
 * once: each read-modify-write saw the previous one), and the paused holder's late write is
 * refused. Waits are bounded generously and nothing is timed.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HeldLock } from '../src/recipes/index.js';
import {
  DistributedLock,
  EtcdJsonClient,
  LeaderElection,
  LockLostError,
  fromBase64,
  toBase64,
} from '../src/recipes/index.js';
import type { ProcessCluster, ProcessMember } from './support/process-cluster.js';
import type { StartedCluster } from './support/started-cluster.js';
import { startedCluster } from './support/started-cluster.js';

const LOCK = 'locks/counter';
const COUNTER = 'counter';
const CONTENDERS = 5;
const ROUNDS = 3;
/** Above etcd's minimum TTL at the test cluster's timing (500 ms election timeout). */
const TTL_SECONDS = 3;

let started: StartedCluster | undefined;
let cluster: ProcessCluster;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** One accepted increment: who, with which token, and the value it wrote. */
interface Increment {
  contender: number;
  token: number;
  value: number;
}

function clientOf(member: ProcessMember): EtcdJsonClient {
  return new EtcdJsonClient(member.clientUrl, { retryForMs: 60_000 });
}

/**
 * Reads the counter and writes it plus one, fenced by the lock: the txn succeeds only while the
 * holder's key still has its create revision. The write carries an Idempotency-Key, so a retry
 * after a lost answer (the member was killed) returns the first outcome instead of applying twice.
 */
async function fencedIncrement(
  client: EtcdJsonClient,
  held: HeldLock,
  requestId: string,
): Promise<number | undefined> {
  const { kvs } = await client.range({ key: toBase64(COUNTER) });
  const next = Number(fromBase64(kvs?.[0]?.value ?? '') || '0') + 1;
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const answer = await client.txn(
        {
          compare: [held.fence()],
          success: [{ request_put: { key: toBase64(COUNTER), value: toBase64(String(next)) } }],
        },
        { 'idempotency-key': requestId },
      );
      return answer.succeeded === true ? next : undefined;
    } catch (error) {
      const status = (error as { status?: number }).status;
      const transient = error instanceof TypeError || status === 503 || status === 504;
      if (!transient || Date.now() > deadline) throw error;
      await sleep(100);
    }
  }
}

/** Polls until `key` is gone (the cluster expired its lease); bounded, not timed. */
async function waitUntilGone(client: EtcdJsonClient, key: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const { kvs } = await client.range({ key: toBase64(key) });
    if (kvs === undefined || kvs.length === 0) return;
    if (Date.now() > deadline) throw new Error(`${key} outlived its lease`);
    await sleep(200);
  }
}

beforeAll(async () => {
  started = await startedCluster(3);
  cluster = started.cluster;
}, 120_000);

afterAll(() => started?.stop());

describe('the lock recipe on a three-member cluster', { timeout: 240_000 }, () => {
  it('fences every holder through a leader kill and a holder paused past its TTL', async () => {
    const accepted: Increment[] = [];
    let lateWriteRefused: boolean | undefined;
    let leaderKilled = false;

    const killLeaderOnce = async (): Promise<void> => {
      if (leaderKilled) return;
      leaderKilled = true;
      const leader = await cluster.leader();
      await cluster.kill(leader);
      await sleep(1000);
      cluster.start(leader);
    };

    const contender = async (index: number): Promise<void> => {
      const client = clientOf(cluster.members[index % cluster.members.length] as ProcessMember);
      const lock = new DistributedLock(client, LOCK, { ttlSeconds: TTL_SECONDS });
      let round = 0;
      for (let attempt = 0; round < ROUNDS; attempt++) {
        expect(attempt, `contender ${index} made no progress`).toBeLessThan(ROUNDS * 10);
        let held: HeldLock;
        try {
          held = await lock.acquire();
        } catch (error) {
          // Its lease ran out while it waited (its member was down): join the line again.
          if (error instanceof LockLostError) continue;
          throw error;
        }
        if (index === 0 && round === 1 && lateWriteRefused === undefined) {
          // A holder paused past its TTL: no more keep-alives; the cluster expires the lease and
          // the next contender takes the lock. Then the holder wakes and writes: refused.
          held.lease.abandon();
          await waitUntilGone(client, held.key);
          lateWriteRefused =
            (await fencedIncrement(client, held, `late-${index}-${round}`)) === undefined;
          continue;
        }
        const value = await fencedIncrement(client, held, `inc-${index}-${round}-${attempt}`);
        if (value !== undefined) {
          accepted.push({ contender: index, token: held.token, value });
          round++;
          if (accepted.length === 4) await killLeaderOnce();
        }
        await held.release().catch(() => undefined);
      }
    };

    await Promise.all(Array.from({ length: CONTENDERS }, (_, index) => contender(index)));
    await cluster.waitReady();

    expect(leaderKilled).toBe(true);
    expect(lateWriteRefused).toBe(true);
    expect(accepted).toHaveLength(CONTENDERS * ROUNDS);
    const reader = clientOf(cluster.members[0] as ProcessMember);
    const { kvs } = await reader.range({ key: toBase64(COUNTER) });
    // Applied exactly once each: the value counts the increments, the version counts the puts.
    expect(Number(fromBase64(kvs?.[0]?.value ?? ''))).toBe(accepted.length);
    expect(Number(kvs?.[0]?.version)).toBe(accepted.length);
    // Each increment saw the one before it, and the tokens grow in the order they were applied.
    const inOrder = [...accepted].sort((a, b) => a.value - b.value);
    expect(inOrder.map((increment) => increment.value)).toEqual(
      Array.from({ length: accepted.length }, (_, index) => index + 1),
    );
    for (let index = 1; index < inOrder.length; index++) {
      expect((inOrder[index] as Increment).token).toBeGreaterThan(
        (inOrder[index - 1] as Increment).token,
      );
    }
  });

  it('elects one leader at a time; the next candidate leads once the leader resigns', async () => {
    const client = clientOf(cluster.members[1] as ProcessMember);
    const election = new LeaderElection(client, 'elections/scheduler', {
      ttlSeconds: TTL_SECONDS,
    });
    const first = await election.campaign('alpha');
    expect(await election.leader()).toEqual({ name: 'alpha', token: first.token });
    let secondLeads = false;
    const second = election.campaign('beta').then((held) => {
      secondLeads = true;
      return held;
    });
    // beta waits in line behind alpha: alpha still leads after beta has joined.
    await sleep(300);
    expect(secondLeads).toBe(false);
    expect((await election.leader())?.name).toBe('alpha');
    await first.release();
    const held = await second;
    expect(await election.leader()).toEqual({ name: 'beta', token: held.token });
    expect(held.token).toBeGreaterThan(first.token);
    await held.release();
    expect(await election.leader()).toBeUndefined();
  });
});
