import { Cluster, type ClusterOptions } from './cluster.js';
import type { NetworkStatistics } from './simulated-network.js';
import type { SometimesEntry } from './sometimes.js';
import { describeError } from './describe-error.js';

/** What one simulated run did. */
export interface SimulationReport {
  readonly seed: string | number;
  /** Equal for two runs of one seed; compare it to prove determinism. */
  readonly traceHash: string;
  /** Virtual milliseconds simulated. */
  readonly virtualMs: number;
  /** Events run. */
  readonly events: number;
  readonly network: Readonly<NetworkStatistics>;
  /** Client history events recorded. */
  readonly historyEvents: number;
  /** The cluster's "sometimes" counters. */
  readonly sometimes: readonly SometimesEntry[];
}

/** A failed run: the message names the seed and how to replay it; `cause` is what went wrong. */
export class SimulationRunError extends Error {
  override readonly name = 'SimulationRunError';
  constructor(
    /** The failing seed. */
    readonly seed: string | number,
    /** The trace hash up to the failure (equal on replay). */
    readonly traceHash: string,
    /** Virtual time of the failure in milliseconds. */
    readonly virtualMs: number,
    cause: unknown,
  ) {
    super(
      `simulation seed ${String(seed)} failed at ${virtualMs} virtual ms (trace ${traceHash}): ${describeError(cause)}\nreplay it with SIM_SEED=${String(seed)}`,
      { cause },
    );
  }
}

/**
 * Builds a cluster, runs `scenario` on it and reports. Any failure (a thrown assertion, an
 * invariant violation, a non-linearizable history, a node that failed to start) is rethrown as a
 * {@link SimulationRunError} whose message carries the seed and the `SIM_SEED=...` replay hint.
 *
 * @example
 * for (const seed of simulationSeeds(50)) {
 *   await simulate({ seed, nodes: 3, createNode }, async (cluster) => {
 *     await cluster.start();
 *     injectRandomFaults(cluster, { untilMs: 5_000 });
 *     await runWorkload(cluster, { durationMs: 5_000, execute });
 *     cluster.assertLinearizable();
 *   });
 * }
 */
export async function simulate<TNode>(
  options: ClusterOptions<TNode>,
  scenario: (cluster: Cluster<TNode>) => Promise<void>,
): Promise<SimulationReport> {
  const cluster = new Cluster(options);
  try {
    await scenario(cluster);
  } catch (error) {
    const failure = cluster.simulation.failed;
    // A run method reports a recorded failure wrapped; report the original cause.
    const cause = failure !== undefined ? failure.error : error;
    throw new SimulationRunError(cluster.seed, cluster.traceHash, cluster.now, cause);
  }
  return {
    seed: cluster.seed,
    traceHash: cluster.traceHash,
    virtualMs: cluster.now,
    events: cluster.simulation.eventsRun,
    network: { ...cluster.network.stats },
    historyEvents: cluster.history.events.length,
    sometimes: cluster.sometimes.report(),
  };
}
