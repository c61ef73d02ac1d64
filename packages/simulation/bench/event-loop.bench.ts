// Benchmark: the raw cost of one simulated event (pop, trace, callback, microtask drain), with a
// callback that only schedules the next event. Prints JSON. Part of `pnpm --filter @x/simulation bench`.
import { performance } from 'node:perf_hooks';
import { Simulation } from '../src/index.js';

async function measure(quietMicrotaskTurns: number, events: number): Promise<number> {
  const simulation = new Simulation({ seed: 1, quietMicrotaskTurns });
  const random = simulation.random.stream('bench');
  // 100 concurrent chains, like timers and messages of a small cluster.
  for (let chain = 0; chain < 100; chain++) {
    const next = (): void => {
      simulation.schedule(random.between(0, 10), 'tick', next);
    };
    simulation.schedule(0, 'tick', next);
  }
  const started = performance.now();
  while (simulation.eventsRun < events) await simulation.step();
  return Math.round(events / ((performance.now() - started) / 1_000));
}

async function main(): Promise<void> {
  await measure(32, 20_000);
  const results: Record<string, number> = {};
  for (const turns of [32, 64, 8])
    results[`quietMicrotaskTurns=${turns}`] = await measure(turns, 200_000);
  process.stdout.write(
    `${JSON.stringify({ benchmark: 'raw simulated events per second', eventsPerSecond: results, node: process.version }, null, 2)}\n`,
  );
}

await main();
