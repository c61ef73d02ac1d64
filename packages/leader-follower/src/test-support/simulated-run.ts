import {
  injectRandomFaults,
  registerOperations,
  runWorkload,
  simulate,
  simulationSeeds,
  SometimesCounters,
  type Cluster,
  type SimulationReport,
} from '@x/simulation';
import type { CoverageMark } from '../core-types.js';
import type { LeaderFollowerNodeOptions } from '../leader-follower-node.js';
import { RegisterServer, registerExecutor, type ClusterRecord } from './simulated-register.js';

/** The core's coverage marks a randomized seed set must hit (counted through `onCoverage`). */
export const CORE_COVERAGE_MARKS: readonly CoverageMark[] = [
  'election-started',
  'leader-elected',
  'stale-leader-stepped-down',
  'check-quorum-stepped-down',
  'divergent-suffix-truncated',
  'snapshot-sent',
  'snapshot-installed',
  'read-barrier-confirmed',
];

/** How a core coverage mark is counted among the "sometimes" events. */
export const coverageEvent = (mark: CoverageMark): string => `core: ${mark}`;

/**
 * The "sometimes" events a randomized seed set must hit: the core's coverage marks (named hooks,
 * so rewording a log line cannot drop a check), and the driver's events, still counted from the
 * node's log lines.
 */
export const SOMETIMES_EVENTS = [
  ...CORE_COVERAGE_MARKS.map(coverageEvent),
  'torn tail repaired',
  'snapshot taken',
  'proposal outcome indeterminate',
  'storage failed; stopping',
  'append refilled from the log',
  'snapshot restored in chunks',
] as const;

/** Options of one randomized run. */
export interface RandomizedRunOptions {
  seed: number | string;
  nodes: number;
  /** Virtual ms of client load with faults. */
  durationMs: number;
  sometimes?: SometimesCounters;
  tuning?: Partial<LeaderFollowerNodeOptions>;
}

/** Cluster-wide invariants checked after every simulation step. */
export function installInvariants(cluster: Cluster<RegisterServer>, record: ClusterRecord): void {
  const leaderOfGeneration = new Map<number, string>();
  const highWaterMarks = new Map<string, number>();
  const durable = new Map<string, number>();
  cluster.invariant('leader-follower safety', (c) => {
    if (record.violations.length > 0) throw new Error(record.violations.join('; '));
    for (const node of c.liveNodes) {
      const server = node.instance;
      if (server === undefined) continue;
      const status = server.node;
      durable.set(node.name, status.durableIndex);
      if (status.role === 'leader') {
        const other = leaderOfGeneration.get(status.generation);
        if (other !== undefined && other !== node.name) {
          throw new Error(`two leaders in generation ${status.generation}: ${other}, ${node.name}`);
        }
        leaderOfGeneration.set(status.generation, node.name);
        // The mark must be durable on a majority of the voters in force. While a configuration
        // change is uncommitted, earlier entries were counted by the previous voters: no check.
        const { voters } = status.configuration;
        if (status.configurationIndex <= status.highWaterMark) {
          const copies = voters.map((voter) => durable.get(voter) ?? 0).sort((a, b) => b - a);
          const onMajority = copies[Math.floor(voters.length / 2)] ?? 0;
          if (status.highWaterMark > onMajority && status.highWaterMark > status.lowWaterMark) {
            throw new Error(`${node.name} high-water mark ${status.highWaterMark} > ${onMajority}`);
          }
        }
      }
      const key = `${node.name}/${node.incarnation}`;
      if (status.highWaterMark < (highWaterMarks.get(key) ?? 0)) {
        throw new Error(`${key} high-water mark went back`);
      }
      highWaterMarks.set(key, status.highWaterMark);
    }
    return true;
  });
}

/**
 * The payload window a seed runs with: seeds 0 mod 3 keep no payload once applied and durable
 * (every lagging follower is caught up from the write-ahead log), seeds 2 mod 3 a tiny window (a
 * few entries), seeds 1 mod 3 the default (with these small logs, nothing is ever dropped: those
 * seeds run exactly as before the window existed). A string seed is hashed first.
 */
export function payloadCacheBytesFor(seed: number | string): number | undefined {
  return [0, undefined, 4096][seedKey(seed) % 3];
}

/**
 * Whether a seed's state machines stream their snapshots in chunks (`restoreChunks`) or hand
 * them over as one buffer: even and odd seeds (after {@link payloadCacheBytesFor}'s split by
 * three, so every combination runs).
 */
export function streamsSnapshots(seed: number | string): boolean {
  return Math.floor(seedKey(seed) / 3) % 2 === 0;
}

/** A non-negative integer per seed; a string seed is hashed. */
function seedKey(seed: number | string): number {
  if (typeof seed === 'number') return Math.abs(seed);
  let key = 0;
  for (let i = 0; i < seed.length; i++) key = (key * 31 + seed.charCodeAt(i)) >>> 0;
  return key;
}

/** One seeded randomized run: client load under random faults, then recovery and checks. */
export function runRandomized(options: RandomizedRunOptions): Promise<SimulationReport> {
  const record: ClusterRecord = { applied: new Map(), violations: [] };
  const sometimes = options.sometimes;
  const payloadCacheBytes = payloadCacheBytesFor(options.seed);
  const tuning: Partial<LeaderFollowerNodeOptions> = {
    ...(payloadCacheBytes === undefined ? {} : { payloadCacheBytes }),
    ...(sometimes === undefined
      ? {}
      : { onCoverage: (mark: CoverageMark) => sometimes.hit(coverageEvent(mark)) }),
    ...options.tuning,
  };
  return simulate(
    {
      seed: options.seed,
      nodes: options.nodes,
      createNode: (ports) =>
        RegisterServer.create(ports, record, tuning, streamsSnapshots(options.seed)),
      network: { lossRate: 0.01, duplicateRate: 0.01 },
      // A storage error while opening is fail-stop, like a crash; the harness restarts the node.
      onStartFailure: 'crash',
      // A SATA-SSD-like flush (2-10 ms) keeps writes unsynced long enough for power losses to
      // tear them; page-cache operations stay fast.
      diskLatency: (operation, random) =>
        operation === 'datasync' || operation === 'syncDirectory'
          ? random.between(2, 10)
          : random.between(0.005, 0.05),
      ...(sometimes === undefined
        ? {}
        : { sometimes, onLog: (entry) => sometimes.hit(entry.message) }),
    },
    async (cluster) => {
      installInvariants(cluster, record);
      await cluster.start();
      injectRandomFaults(cluster, {
        untilMs: cluster.now + options.durationMs,
        meanIntervalMs: 400,
        weights: { 'disk-error': 0.2 },
      });
      await runWorkload(cluster, {
        clients: 3,
        durationMs: options.durationMs,
        thinkTimeMs: 40,
        timeoutMs: 2_000,
        generate: registerOperations(['x', 'y']),
        execute: registerExecutor(),
      });
      // Recovery: everyone converges on the same applied state.
      await cluster.runUntil(() => converged(cluster), 30_000);
      cluster.assertLinearizable();
    },
  );
}

function converged(cluster: Cluster<RegisterServer>): boolean {
  const nodes = cluster.nodes.map((node) => node.instance?.node);
  const leader = nodes.find((node) => node?.role === 'leader');
  if (leader === undefined) return false;
  return nodes.every((node) => node !== undefined && node.appliedThrough === leader.highWaterMark);
}

/** How {@link runSeeds} runs a seed set. */
export interface SeedSetOptions {
  /** The first seed and the count, unless the soak variables override them. */
  readonly first: number;
  readonly count: number;
  /** Prefix of the soak variables: `<prefix>_SEEDS` (count) and `<prefix>_FIRST`. */
  readonly soakVariablePrefix: string;
  /** The "sometimes" events every seed set of more than one seed must hit. */
  readonly events: readonly string[];
  /** The progress line for a passed seed (printed when `LF_SIM_PROGRESS` is set). */
  readonly passedLine: (seed: string | number) => string;
  /** Runs one seed (a number, or a string replayed with `SIM_SEED`), counting "sometimes" events. */
  readonly runOne: (seed: string | number, sometimes: SometimesCounters) => Promise<unknown>;
}

/**
 * Runs a seed set and asserts every "sometimes" event was hit across it; the soak variables
 * override the set, `LF_SIM_PROGRESS=1` prints each passed seed, `SIM_SEED` replays one seed.
 */
export async function runSeeds(
  options: SeedSetOptions,
): Promise<{ seeds: number; sometimes: SometimesCounters }> {
  const soakCount = process.env[`${options.soakVariablePrefix}_SEEDS`];
  const soakFirst = process.env[`${options.soakVariablePrefix}_FIRST`];
  const seeds = simulationSeeds(
    soakCount === undefined ? options.count : Number(soakCount),
    soakFirst === undefined ? options.first : Number(soakFirst),
  );
  const sometimes = new SometimesCounters([...options.events]);
  const progress = process.env['LF_SIM_PROGRESS'] !== undefined;
  for (const seed of seeds) {
    await options.runOne(seed, sometimes);
    if (progress) console.log(options.passedLine(seed));
  }
  if (seeds.length > 1) sometimes.assertAllHit();
  return { seeds: seeds.length, sometimes };
}

/**
 * Runs a seed set of the randomized simulation (see {@link runSeeds}); `LF_SIM_SEEDS` and
 * `LF_SIM_FIRST` override it for soaks.
 */
export function runSeedSet(
  first: number,
  count: number,
  nodes: number,
  durationMs = 30_000,
): Promise<{ seeds: number; sometimes: SometimesCounters }> {
  return runSeeds({
    first,
    count,
    soakVariablePrefix: 'LF_SIM',
    events: SOMETIMES_EVENTS,
    passedLine: (seed) => `seed ${seed} passed (${nodes} nodes)`,
    runOne: (seed, sometimes) => runRandomized({ seed, nodes, durationMs, sometimes }),
  });
}

/**
 * Test timeout for a seed set: 15 minutes, or 5 s per seed for longer soaks. `soakVariablePrefix`
 * names the set's soak variables (as in {@link runSeeds}), so a soak of that set gets the time its
 * own seed count needs.
 */
export function seedSetTimeoutMs(count: number, soakVariablePrefix = 'LF_SIM'): number {
  return Math.max(900_000, Number(process.env[`${soakVariablePrefix}_SEEDS`] ?? count) * 5_000);
}
