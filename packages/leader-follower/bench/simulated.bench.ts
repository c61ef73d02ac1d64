// Simulator benchmark: 3 nodes on virtual time (NVMe-like simulated disk, default simulated
// network), 100-byte entries, 1 and 64 concurrent proposers on the leader. Reports commit latency
// and throughput in VIRTUAL time (what the algorithm costs in round trips and fsyncs) and
// entries per WALL second (what the whole stack plus the simulator costs in CPU). Prints JSON.
import { simulate, type Cluster } from '@x/simulation';
import { LeaderFollowerNode } from '../src/index.js';
import { summarize } from './latency-summary.js';

const virtualMs = Number(process.env['LF_BENCH_MS'] ?? 5_000);

async function measure(concurrency: number): Promise<unknown> {
  let result: unknown;
  await simulate(
    {
      seed: 1,
      nodes: 3,
      createNode: async (ports) => {
        const node = await LeaderFollowerNode.open({
          id: ports.name,
          members: [ports.name, ...ports.peers].sort(),
          transport: ports.transport,
          fileSystem: ports.fs,
          dataDirectory: '/data',
          clock: ports.clock,
          timers: ports.timers,
          random: ports.random,
          stateMachine: {
            apply: (index) => index,
            snapshot: () => new Uint8Array(8),
            restore: () => undefined,
          },
        });
        node.start();
        return node;
      },
    },
    async (cluster: Cluster<LeaderFollowerNode>) => {
      await cluster.start();
      await cluster.runUntil(() => cluster.nodes.some((n) => n.instance?.role === 'leader'));
      await cluster.runFor(500);
      const leader = cluster.nodes.find((n) => n.instance?.role === 'leader')?.instance;
      if (leader === undefined) throw new Error('no leader');
      const payload = new Uint8Array(100).fill(1);
      const latencies: number[] = [];
      const end = cluster.now + virtualMs;
      let running = concurrency;
      const worker = async (): Promise<void> => {
        while (cluster.now < end) {
          const start = cluster.now;
          await leader.propose(payload);
          latencies.push(cluster.now - start);
        }
        running--;
      };
      const wallStart = performance.now();
      for (let i = 0; i < concurrency; i++) void worker();
      await cluster.runUntil(() => running === 0, virtualMs + 10_000);
      const wallSeconds = (performance.now() - wallStart) / 1000;
      result = {
        concurrency,
        committed: latencies.length,
        virtualEntriesPerSecond: Math.round(latencies.length / (virtualMs / 1000)),
        virtualCommitLatencyMs: summarize(latencies),
        wallEntriesPerSecond: Math.round(latencies.length / wallSeconds),
      };
    },
  );
  return result;
}

const results = [];
for (const concurrency of [1, 64]) results.push(await measure(concurrency));
console.log(
  JSON.stringify(
    {
      benchmark: 'leader-follower in the simulator (3 nodes)',
      entryBytes: 100,
      virtualMs,
      results,
    },
    null,
    2,
  ),
);
