/**
 * Issue 19's lease property on `@x/simulation`: three members, each kv-node's real replica stack
 * (`@x/leader-follower` over the simulated disk and network, the `KvStateMachine`, the
 * `LeaderFollowerReplica` and the lease clock of `lease-clock.ts`) on virtual time, with random
 * crashes (with and without power loss), pauses, partitions and connection resets, and clocks
 * that drift (up to 100 ppm). A holder grants a lease and sends keep-alives a third of the TTL
 * apart to whichever member answers as leader. Properties, per seed:
 * - safety: the lease is never gone less than a TTL after a keep-alive that the leader
 *   acknowledged was sent (no member expires it early, whatever the faults);
 * - while every gap between acknowledged keep-alives stays under the TTL, the lease lives;
 * - after the last keep-alive (faults over), it is gone within TTL + election timeout + two
 *   ticks of the lease clock + the drift, counted from the last keep-alive or the last leader
 *   change, whichever came later, plus the time to commit the revoke.
 */

import type { NodePorts } from '@x/simulation';
import { injectRandomFaults, simulate, simulationSeeds, SometimesCounters } from '@x/simulation';
import { LeaderFollowerNode } from '@x/leader-follower';
import { RequestWaitingList } from '@x/high-water-mark';
import { describe, expect, it } from 'vitest';
import { encodeCommand } from '../codec/command-codec.js';
import { leaseClockOf } from '../node/lease-clock.js';
import { LeaderFollowerReplica } from '../node/local-replica.js';
import { replicaTicks } from '../node/replica-ticks.js';
import { KvStateMachine } from '../store/kv-state-machine.js';
import type { LeaseDriver } from './lease-driver.js';
import { LEASE_TICK_MS } from './lease-driver.js';

const HEARTBEAT_MS = 100;
const ELECTION_TIMEOUT_MS = 1000;
const TTL_SECONDS = 10;
const TTL_MS = TTL_SECONDS * 1000;
const MAX_DRIFT_PPM = 100;
const LEASE_ID = '42';
/** Virtual ms of faults while the holder keeps the lease alive. */
const FAULTY_MS = 30_000;
/** A revoke is proposed at most two lease ticks after the deadline; committing it takes this. */
const COMMIT_SLACK_MS = 1000;

/** One member: kv-node's replica stack on the simulated ports. */
interface LeaseMember {
  readonly replica: LeaderFollowerReplica;
  readonly driver: LeaseDriver;
  readonly machine: KvStateMachine;
}

async function createMember(ports: NodePorts): Promise<LeaseMember> {
  const machine = new KvStateMachine();
  const appliedWaiters = new RequestWaitingList();
  const members = [ports.name, ...ports.peers].sort();
  const node = await LeaderFollowerNode.open({
    id: ports.name,
    members,
    transport: ports.transport,
    fileSystem: ports.fs,
    dataDirectory: '/data',
    clock: ports.clock,
    timers: ports.timers,
    random: ports.random,
    logger: ports.logger,
    onFatalError: (error) => ports.halt(error),
    ...replicaTicks(HEARTBEAT_MS, ELECTION_TIMEOUT_MS),
    stateMachine: {
      apply: (index, command, awaited) => machine.apply(index, command, awaited),
      snapshot: () => machine.snapshotChunks(),
      restore: (snapshot, index) => machine.restore(snapshot, index),
      restoreChunks: (chunks, index) => machine.restoreChunks(chunks, index),
    },
    observer: { appliedThrough: (index) => appliedWaiters.advanceTo(index) },
  });
  appliedWaiters.advanceTo(node.appliedThrough);
  node.start();
  const replica = new LeaderFollowerReplica({
    node,
    store: machine.store,
    auth: machine.auth,
    leases: machine.leases,
    alarms: machine.alarms,
    appliedWaiters,
    name: ports.name,
    clusterId: 'lease-simulation',
    members: members.map((name, index) => ({
      name,
      id: String(index + 1),
      peerUrls: [],
      clientUrls: [],
    })),
    unsafeLocalLinearizableReads: false,
    // The read barrier's batching turn, on virtual time.
    nextTurn: (task) => ports.timers.setTimeout(task, 0),
  });
  const driver = leaseClockOf(replica, {
    now: () => ports.clock.now(),
    timers: ports.timers,
    electionTimeoutMs: ELECTION_TIMEOUT_MS,
  });
  driver.start();
  return { replica, driver, machine };
}

/** What one seed's run saw, for the cross-seed assertions. */
interface RunFacts {
  leaderChangesWhileHeld: number;
  acknowledgedKeepAlives: number;
  longestAcknowledgedGapMs: number;
}

async function runSeed(seed: string | number, sometimes: SometimesCounters): Promise<RunFacts> {
  const facts: RunFacts = {
    leaderChangesWhileHeld: 0,
    acknowledgedKeepAlives: 0,
    longestAcknowledgedGapMs: 0,
  };
  await simulate(
    {
      seed,
      nodes: 3,
      createNode: createMember,
      clocks: { maxDriftPpm: MAX_DRIFT_PPM },
      sometimes,
      // A crashed member comes back from its disk; a start that fails is a crash to recover from.
      onStartFailure: 'crash',
    },
    async (cluster) => {
      await cluster.start();
      const holder = cluster.client(0);
      let believedLeader = 0;
      /** Calls `request` on the member the holder believes leads, moving on after a failure. */
      const callLeader = async <T>(
        request: (member: LeaseMember) => Promise<T>,
      ): Promise<T | undefined> => {
        const target = cluster.names[believedLeader % cluster.names.length] as string;
        const answer = await Promise.race([
          holder.call(target, request).then(
            (value) => ({ value }),
            () => undefined,
          ),
          holder.sleep(ELECTION_TIMEOUT_MS).then(() => undefined),
        ]);
        if (answer === undefined) believedLeader++;
        return answer?.value;
      };

      // The holder runs as a client on virtual time; the simulation advances only while it is run.
      const holderState: { finished: boolean; error?: Error } = { finished: false };
      let lastAcknowledgedSentAt = 0;
      let previousAcknowledgedAt = 0;
      let lastLeaderChangeAt = 0;
      let lastLeaderGeneration = 0;
      let goneAt: number | undefined;
      let holding = true;
      // Members (incarnations) whose applied state has held the lease: once one of them no longer
      // has it, a revoke was applied (a restarted member starts without it until it replays).
      const held = new WeakSet<LeaseMember>();
      // Leader changes, lease presence and its removal, watched after every simulation step.
      cluster.invariant('lease observed', (c) => {
        for (const node of c.runningNodes) {
          const member = node.instance;
          if (member === undefined) continue;
          if (member.machine.leases.has(LEASE_ID)) held.add(member);
          else if (goneAt === undefined && held.has(member)) goneAt = c.now;
          // A leader of a newer generation than any before is a leader change (a deposed leader
          // that has not heard of it yet still says it leads, in its older generation).
          const generation = member.replica.status().generation;
          if (member.replica.isLeader() && generation > lastLeaderGeneration) {
            lastLeaderGeneration = generation;
            lastLeaderChangeAt = c.now;
            if (holding) facts.leaderChangesWhileHeld++;
          }
        }
        return true;
      });
      const holderRun = (async (): Promise<void> => {
        // Grant, retried until a leader applies it.
        let granted = false;
        while (!granted) {
          const outcome = await callLeader((member) =>
            member.replica.propose(
              encodeCommand({
                type: 'lease',
                request: { op: 'grant', id: LEASE_ID, ttlSeconds: TTL_SECONDS },
              }),
            ),
          );
          granted = outcome !== undefined;
          if (!granted) await holder.sleep(100);
        }
        const grantedAt = cluster.now;

        lastLeaderChangeAt = Math.max(lastLeaderChangeAt, grantedAt);

        // Keep-alives a third of the TTL apart (as etcd's client sends them), through the faults.
        injectRandomFaults(cluster, {
          untilMs: cluster.now + FAULTY_MS,
          weights: { 'clock-jump': 0 },
        });
        const interval = TTL_MS / 3;
        lastAcknowledgedSentAt = grantedAt;
        previousAcknowledgedAt = grantedAt;
        const holdUntil = cluster.now + FAULTY_MS;
        while (cluster.now < holdUntil) {
          const sentAt = cluster.now;
          const answer = await callLeader((member) =>
            member.driver.answer({ op: 'keepAlive', id: LEASE_ID }),
          );
          if (answer !== undefined) {
            facts.acknowledgedKeepAlives++;
            facts.longestAcknowledgedGapMs = Math.max(
              facts.longestAcknowledgedGapMs,
              cluster.now - previousAcknowledgedAt,
            );
            previousAcknowledgedAt = cluster.now;
            lastAcknowledgedSentAt = sentAt;
            // Safety at every acknowledgement: the lease was not gone before it.
            expect(goneAt, `lease gone at ${goneAt} before a keep-alive at ${sentAt}`).toBe(
              undefined,
            );
            await holder.sleep(interval);
          } else {
            await holder.sleep(100);
          }
        }
      })().then(
        () => {
          holderState.finished = true;
        },
        (error: unknown) => {
          holderState.error = error instanceof Error ? error : new Error(String(error));
          holderState.finished = true;
        },
      );
      await cluster.runUntil(() => holderState.finished, FAULTY_MS + 120_000);
      await holderRun;
      if (holderState.error !== undefined) throw holderState.error;
      holding = false;
      const stoppedAt = cluster.now;
      // The faults are over by now (injectRandomFaults recovers the cluster at `untilMs`).
      if (facts.longestAcknowledgedGapMs < TTL_MS && stoppedAt - previousAcknowledgedAt < TTL_MS) {
        expect(goneAt, 'a lease kept alive within its TTL expired').toBe(undefined);
      }
      const bound = (): number =>
        Math.max(lastAcknowledgedSentAt, lastLeaderChangeAt) +
        TTL_MS * (1 + MAX_DRIFT_PPM / 1e6) +
        ELECTION_TIMEOUT_MS +
        2 * LEASE_TICK_MS +
        COMMIT_SLACK_MS;
      await cluster.runUntil(() => goneAt !== undefined || cluster.now > bound(), 3 * TTL_MS);
      expect(goneAt, `lease still there at ${cluster.now} (bound ${bound()})`).toBeDefined();
      const gone = goneAt as number;
      // Never early: at least a TTL (less the drift) after the last acknowledged keep-alive's send.
      expect(gone).toBeGreaterThanOrEqual(
        lastAcknowledgedSentAt + TTL_MS * (1 - MAX_DRIFT_PPM / 1e6),
      );
      expect(gone).toBeLessThanOrEqual(bound());
      for (const node of cluster.runningNodes) node.instance?.driver.stop();
    },
  );
  return facts;
}

describe('leases on @x/simulation (kv-node replica stack, random faults, drifting clocks)', () => {
  it('keeps a kept-alive lease and expires a dropped one within TTL + election timeout', async () => {
    const sometimes = new SometimesCounters();
    const runs: RunFacts[] = [];
    for (const seed of simulationSeeds(8)) runs.push(await runSeed(seed, sometimes));
    // The faults must have moved the leadership while the lease was held, or nothing was shown.
    expect(runs.some((run) => run.leaderChangesWhileHeld > 1)).toBe(true);
    expect(runs.every((run) => run.acknowledgedKeepAlives > 0)).toBe(true);
  }, 600_000);
});
