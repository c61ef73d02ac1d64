// Benchmark: how fast the simulator runs a 5-node toy cluster (ABD register over the simulated
// network and disks, 5 clients, random faults). Prints JSON: simulated events per wall second and
// simulated seconds per wall second. Usage: pnpm --filter @x/simulation bench
import { performance } from 'node:perf_hooks';
import { runToy } from '../test/toy-cluster.js';

const virtualSecondsPerRun = 10;
const runs = Number(process.env['BENCH_RUNS'] ?? 5);

async function main(): Promise<void> {
  // Warm-up: let V8 optimize the hot paths before measuring.
  await runToy({ seed: 'warm-up', nodes: 5, clients: 5, durationMs: 2_000 });
  let events = 0;
  let virtualMs = 0;
  const started = performance.now();
  for (let run = 0; run < runs; run++) {
    const report = await runToy({
      seed: run + 1,
      nodes: 5,
      clients: 5,
      durationMs: virtualSecondsPerRun * 1_000,
    });
    events += report.events;
    virtualMs += report.virtualMs;
  }
  const wallMs = performance.now() - started;
  process.stdout.write(
    `${JSON.stringify(
      {
        benchmark:
          '5-node toy cluster (ABD register, 5 clients, random faults, loss 2%, duplication 2%)',
        runs,
        events,
        virtualSeconds: virtualMs / 1_000,
        wallSeconds: wallMs / 1_000,
        eventsPerSecond: Math.round(events / (wallMs / 1_000)),
        simulatedSecondsPerWallSecond: Number((virtualMs / wallMs).toFixed(2)),
        node: process.version,
      },
      null,
      2,
    )}\n`,
  );
}

await main();
