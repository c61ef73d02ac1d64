import { simulate, type Cluster } from '@x/simulation';
import { describe, expect, it } from 'vitest';
import { RegisterServer, type ClusterRecord } from './test-support/simulated-register.js';
import { installInvariants } from './test-support/simulated-run.js';

// ISSUE-23 finding 2, in the simulator: a member restarted on empty storage under its old name
// must never vote or acknowledge. Here the writes were acknowledged by the leader and by that
// member only; then the leader dies and the member comes back empty beside the one member that
// lacks the writes. Before storage identities its vote elected the stale member, whose
// leadership then cut the writes off the old leader's log too.

type RegisterCluster = Cluster<RegisterServer>;

const WRITES = 20;

async function waitForLeader(cluster: RegisterCluster): Promise<string> {
  let found: string | undefined;
  await cluster.runUntil(() => {
    found = cluster.runningNodes.find(
      (node) => node.instance?.node.role === 'leader' && node.instance.node.highWaterMark > 0,
    )?.name;
    return found !== undefined;
  }, 30_000);
  if (found === undefined) throw new Error('no leader');
  return found;
}

describe('a forgetful member in the simulator', () => {
  for (const seed of [1, 2, 3]) {
    it(`never loses an acknowledged write when a member restarts with empty storage (seed ${seed})`, async () => {
      const record: ClusterRecord = { applied: new Map(), violations: [] };
      const logs: string[] = [];
      await simulate(
        {
          seed,
          nodes: 3,
          createNode: (ports) => RegisterServer.create(ports, record),
          onLog: (entry) => logs.push(`${entry.node}: ${entry.message}`),
          onStartFailure: 'crash',
        },
        async (cluster) => {
          installInvariants(cluster, record);
          await cluster.start();
          const leader = await waitForLeader(cluster);
          // Heartbeats share every member's storage identity with every other.
          await cluster.runFor(1_000);
          const [forgetful = '', stale = ''] = cluster.names.filter((name) => name !== leader);
          cluster.node(stale).crash({ powerLoss: false });
          const server = cluster.node(leader).requireInstance;
          for (let i = 1; i <= WRITES; i++) {
            let done = false;
            void server.write(`k${i}`, i).then(() => (done = true));
            await cluster.runUntil(() => done, 10_000);
          }
          // Acknowledged by the leader and `forgetful` only. Now `forgetful` loses its disk
          // and the leader dies.
          cluster.node(forgetful).crash({ powerLoss: true });
          cluster.node(forgetful).disk.removeTree('/data');
          cluster.node(leader).crash({ powerLoss: false });
          cluster.node(forgetful).restart();
          cluster.node(stale).restart();
          await cluster.runFor(10_000);
          // `stale` must not have become a leader with `forgetful`'s vote: it lacks the writes.
          expect(cluster.node(stale).instance?.node.role).not.toBe('leader');
          expect(cluster.node(forgetful).state).toBe('crashed');
          expect(logs.some((line) => line.includes('lost acknowledged state'))).toBe(true);
          cluster.node(leader).restart();
          const newLeader = await waitForLeader(cluster);
          expect(newLeader).not.toBe(forgetful);
          await cluster.runFor(2_000);
          for (const name of [leader, stale]) {
            const values = cluster.node(name).requireInstance.values;
            for (let i = 1; i <= WRITES; i++) expect(values.get(`k${i}`), `${name} k${i}`).toBe(i);
          }
          // Recorded: it refuses to start on that storage again, even with no peer to tell it.
          cluster.node(leader).crash({ powerLoss: false });
          cluster.node(stale).crash({ powerLoss: false });
          cluster.node(forgetful).restart();
          await cluster.runFor(2_000);
          expect(cluster.node(forgetful).state).toBe('crashed');
        },
      );
    }, 60_000);
  }
});
