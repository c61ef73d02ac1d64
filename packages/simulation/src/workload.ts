import type { Cluster } from './cluster.js';
import type { ClientOperation } from './history-recorder.js';
import type { SeededRandom } from './seeded-random.js';
import type { ClientContext, OperationOutcome } from './simulated-client.js';

/** Options of {@link runWorkload}. Times are virtual milliseconds. */
export interface WorkloadOptions<TNode> {
  /** Concurrent client processes (ids 0..clients-1). Default 3. */
  clients?: number;
  /** Clients start no new operation after this long. Default 10,000. */
  durationMs?: number;
  /** Each client stops after this many operations. Default unlimited. */
  operationsPerClient?: number;
  /** Mean pause between a client's operations (exponential). Default 10. */
  thinkTimeMs?: number;
  /** An operation with no outcome after this long is recorded as `info`. Default 2,000. */
  timeoutMs?: number;
  /** Draws the next operation. Default {@link registerOperations}() over key `x`. */
  generate?: (random: SeededRandom, clientId: number) => ClientOperation;
  /** Performs one operation against the cluster (typically with `context.call`) and reports its outcome. */
  execute: (operation: ClientOperation, context: ClientContext<TNode>) => Promise<OperationOutcome>;
}

/**
 * A generator of register operations on `keys`: 50% reads, 40% writes of unique values, 10% cas
 * from a recently written value. Unique values keep the linearizability check fast.
 */
export function registerOperations(
  keys: readonly string[] = ['x'],
): (random: SeededRandom, clientId: number) => ClientOperation {
  let counter = 0;
  return (random, clientId) => {
    const key = random.pick(keys);
    const roll = random.next();
    counter++;
    const value = clientId * 1_000_000 + counter;
    if (roll < 0.5) return { op: 'read', key };
    if (roll < 0.9) return { op: 'write', key, value };
    const expected = Math.max(0, counter - random.integer(1, 5));
    return { op: 'cas', key, value: [clientId * 1_000_000 + expected, value] };
  };
}

/**
 * Runs `clients` concurrent clients against the cluster until they are done, recording every
 * operation in `cluster.history`. Drives the simulation itself (faults and invariants keep running).
 * @throws SimulationFailedError if the run fails meanwhile.
 */
export async function runWorkload<TNode>(
  cluster: Cluster<TNode>,
  options: WorkloadOptions<TNode>,
): Promise<void> {
  const simulation = cluster.simulation;
  const clients = options.clients ?? 3;
  const durationMs = options.durationMs ?? 10_000;
  const operations = options.operationsPerClient ?? Number.POSITIVE_INFINITY;
  const thinkTimeMs = options.thinkTimeMs ?? 10;
  const timeoutMs = options.timeoutMs ?? 2_000;
  const generate = options.generate ?? registerOperations();
  const end = simulation.now + durationMs;
  let finished = 0;

  const loop = async (clientId: number): Promise<void> => {
    const client = cluster.client(clientId);
    const random = simulation.random.stream(`workload/${clientId}`);
    for (let done = 0; done < operations; done++) {
      await client.sleep(random.exponential(thinkTimeMs));
      if (simulation.now >= end) break;
      const operation = generate(random, clientId);
      await client.invoke(operation, (context) => options.execute(operation, context), timeoutMs);
    }
  };
  for (let clientId = 0; clientId < clients; clientId++) {
    loop(clientId).then(
      () => finished++,
      (error: unknown) => simulation.fail(error),
    );
  }
  await simulation.runUntil(() => finished === clients, durationMs + timeoutMs + 60_000);
}
