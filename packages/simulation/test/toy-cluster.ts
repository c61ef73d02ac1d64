// Runs the toy register under the harness: the shared scenario of the determinism tests and the benchmark.
import {
  NodeUnavailableError,
  injectRandomFaults,
  runWorkload,
  simulate,
  type ClientOperation,
  type SimulationReport,
  type SometimesCounters,
} from '../src/index.js';
import { ToyRegisterNode } from './toy-register.js';

/** Options of one toy run. */
export interface ToyRunOptions {
  seed: string | number;
  buggy?: boolean;
  nodes?: number;
  /** Virtual ms of workload (faults stop at the same time). */
  durationMs?: number;
  clients?: number;
  sometimes?: SometimesCounters;
  faults?: boolean;
  keepTraceLog?: boolean;
}

function readsAndWrites(): (
  random: { next(): number; pick<T>(items: readonly T[]): T },
  clientId: number,
) => ClientOperation {
  let counter = 0;
  return (random, clientId) => {
    counter++;
    const key = random.pick(['x', 'y']);
    return random.next() < 0.5
      ? { op: 'read', key }
      : { op: 'write', key, value: clientId * 1_000_000 + counter };
  };
}

/** One seeded run of the toy under random faults; throws SimulationRunError on failure. */
export function runToy(options: ToyRunOptions): Promise<SimulationReport> {
  const durationMs = options.durationMs ?? 1_500;
  const sometimes = options.sometimes;
  return simulate(
    {
      seed: options.seed,
      nodes: options.nodes ?? 3,
      keepTraceLog: options.keepTraceLog ?? false,
      createNode: (ports) => ToyRegisterNode.create(ports, { buggy: options.buggy ?? false }),
      network: { lossRate: 0.02, duplicateRate: 0.02 },
      ...(sometimes === undefined
        ? {}
        : { sometimes, onLog: (entry) => sometimes.hit(entry.message) }),
    },
    async (cluster) => {
      const highest = new Map<string, readonly [number, number]>();
      cluster.invariant('a replica timestamp never decreases within an incarnation', (c) => {
        for (const node of c.liveNodes) {
          const instance = node.instance as ToyRegisterNode;
          for (const key of ['x', 'y']) {
            const id = `${node.name}/${node.incarnation}/${key}`;
            const ts = instance.timestampOf(key);
            const seen = highest.get(id);
            if (seen !== undefined && (ts[0] < seen[0] || (ts[0] === seen[0] && ts[1] < seen[1]))) {
              return false;
            }
            highest.set(id, ts);
          }
        }
        return true;
      });
      await cluster.start();
      if (options.faults ?? true)
        injectRandomFaults(cluster, {
          untilMs: cluster.now + durationMs,
          weights: { 'disk-error': 0.3 },
        });
      await runWorkload(cluster, {
        clients: options.clients ?? 3,
        durationMs,
        thinkTimeMs: 15,
        timeoutMs: 1_000,
        generate: readsAndWrites(),
        execute: async (operation, context) => {
          const node = context.random.pick(context.nodes);
          const key = operation.key ?? '';
          try {
            if (operation.op === 'read') {
              return {
                type: 'ok',
                value: await context.call(node, (toy: ToyRegisterNode) => toy.read(key)),
              };
            }
            const value = operation.value as number;
            await context.call(node, (toy: ToyRegisterNode) => toy.write(key, value));
            return { type: 'ok' };
          } catch (error) {
            // Refused before it reached the node: definitely not applied.
            if (error instanceof NodeUnavailableError) return { type: 'fail', error };
            return { type: 'info', error };
          }
        },
      });
      cluster.assertLinearizable();
    },
  );
}
