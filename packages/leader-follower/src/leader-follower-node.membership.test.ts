// The node's membership API (issue 21) on real storage in the simulator: a change resolves with
// the new configuration once applied, refusals are typed and definite, a member joins with empty
// storage as a learner, and a removed leader steps down while the rest carry on.
import { simulate, type Cluster } from '@x/simulation';
import { describe, expect, it } from 'vitest';
import { ConfigurationChangeRefusedError, NodeStoppedError } from './errors.js';
import { RegisterServer, type ClusterRecord } from './test-support/simulated-register.js';
import { installInvariants } from './test-support/simulated-run.js';

type RegisterCluster = Cluster<RegisterServer>;
const VOTERS = ['athens', 'byzantium', 'cyrene'];

async function withCluster(
  scenario: (cluster: RegisterCluster, logs: string[]) => Promise<void>,
): Promise<void> {
  const record: ClusterRecord = { applied: new Map(), violations: [] };
  const logs: string[] = [];
  await simulate(
    {
      seed: 1,
      nodes: [...VOTERS, 'delphi'],
      createNode: (ports) =>
        RegisterServer.create(ports, record, {
          members: VOTERS,
          ...(VOTERS.includes(ports.name) ? {} : { learners: [ports.name] }),
        }),
      onLog: (entry) => logs.push(`${entry.node}: ${entry.message}`),
    },
    async (cluster) => {
      installInvariants(cluster, record);
      await cluster.start();
      await scenario(cluster, logs);
    },
  );
}

const node = (cluster: RegisterCluster, name: string) => cluster.node(name).requireInstance.node;

async function leaderOf(cluster: RegisterCluster, among: readonly string[]): Promise<string> {
  let found: string | undefined;
  await cluster.runUntil(() => {
    found = among.find((name) => {
      const lf = node(cluster, name);
      return (
        lf.role === 'leader' && lf.highWaterMark >= lf.configurationIndex && lf.highWaterMark > 0
      );
    });
    return found !== undefined;
  }, 30_000);
  return found!;
}

async function settle<T>(
  cluster: RegisterCluster,
  promise: Promise<T>,
): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  let outcome: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
  promise.then(
    (value) => (outcome = { ok: true, value }),
    (error: unknown) => (outcome = { ok: false, error }),
  );
  await cluster.runUntil(() => outcome !== undefined, 10_000);
  return outcome!;
}

describe('LeaderFollowerNode membership', () => {
  it('adds a learner, refuses a second change in flight, promotes, and removes the leader', async () => {
    await withCluster(async (cluster, logs) => {
      const first = await leaderOf(cluster, VOTERS);
      await cluster.runFor(500);
      const leader = node(cluster, first);
      const adding = leader.proposeConfigurationChange({ kind: 'add-learner', member: 'delphi' });
      // The entry is appended at once: a second change now is refused, definitely.
      const second = await settle(
        cluster,
        leader.proposeConfigurationChange({ kind: 'remove', member: 'cyrene' }),
      );
      expect(second.ok).toBe(false);
      const refusal = second.ok ? undefined : second.error;
      expect(refusal).toBeInstanceOf(ConfigurationChangeRefusedError);
      expect((refusal as ConfigurationChangeRefusedError).reason).toBe('change-in-flight');
      expect((refusal as ConfigurationChangeRefusedError).definite).toBe(true);
      const added = await settle(cluster, adding);
      expect(added).toEqual({ ok: true, value: { voters: VOTERS, learners: ['delphi'] } });

      // In sync as the leader sees it: delphi applied everything and the leader heard it say so.
      await cluster.runUntil(
        () =>
          node(cluster, 'delphi').appliedThrough === leader.highWaterMark &&
          leader.status().followers.find((follower) => follower.id === 'delphi')?.matchIndex ===
            leader.highWaterMark,
        10_000,
      );
      const promoted = await settle(
        cluster,
        leader.proposeConfigurationChange({ kind: 'promote', member: 'delphi' }),
      );
      expect(promoted).toEqual({
        ok: true,
        value: { voters: [...VOTERS, 'delphi'], learners: [] },
      });

      const removed = await settle(
        cluster,
        leader.proposeConfigurationChange({ kind: 'remove', member: first }),
      );
      expect(removed.ok).toBe(true);
      const rest = [...VOTERS, 'delphi'].filter((name) => name !== first);
      const next = await leaderOf(cluster, rest);
      expect(rest).toContain(next);
      expect(leader.role).not.toBe('leader');
      expect(leader.failure).toBeUndefined();
      expect(logs).toContain(
        `${first}: removed from the cluster by a committed configuration change; stopping`,
      );
      await expect(leader.propose(new Uint8Array([1]))).rejects.toBeInstanceOf(NodeStoppedError);
      // The rest commit without the removed member.
      const write = await settle(cluster, cluster.node(next).requireInstance.write('x', 7));
      expect(write.ok).toBe(true);
      expect([...node(cluster, next).configuration.voters].sort()).toEqual([...rest].sort());
    });
  });
});
