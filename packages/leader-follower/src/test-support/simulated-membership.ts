import {
  injectRandomFaults,
  registerOperations,
  runWorkload,
  simulate,
  type Cluster,
  type SimulationReport,
  type SometimesCounters,
} from '@x/simulation';
import type { ConfigurationChange } from '../cluster-configuration.js';
import type { CoverageMark } from '../core-types.js';
import { ConfigurationChangeRefusedError, LeaderFollowerError } from '../errors.js';
import type { LeaderFollowerNodeOptions } from '../leader-follower-node.js';
import { RegisterServer, registerExecutor, type ClusterRecord } from './simulated-register.js';
import {
  coverageEvent,
  installInvariants,
  payloadCacheBytesFor,
  runSeeds,
  streamsSnapshots,
} from './simulated-run.js';

/** Six names: three initial voters, three spares that start with empty storage. */
const NAMES: readonly string[] = ['athens', 'byzantium', 'cyrene', 'delphi', 'ephesus', 'fayum'];
const INITIAL_VOTERS = NAMES.slice(0, 3);

/** The "sometimes" events a membership seed set must hit. */
export const MEMBERSHIP_EVENTS = [
  'membership: learner added',
  coverageEvent('learner-promoted'),
  coverageEvent('leader-removed'),
  coverageEvent('removed-member-stopped'),
  'membership: change during partition',
  'membership: change refused',
  'membership: outcome indeterminate',
  coverageEvent('snapshot-installed'),
  'core: configuration-changed',
  'membership: leadership transferred during a change',
] as const;

/** Options of one membership run. */
export interface MembershipRunOptions {
  seed: number | string;
  /** Virtual ms of client load, faults and membership changes. */
  durationMs: number;
  sometimes?: SometimesCounters;
}

/** The running leader with the highest generation, if any. */
function currentLeader(cluster: Cluster<RegisterServer>): RegisterServer | undefined {
  let best: RegisterServer | undefined;
  for (const node of cluster.runningNodes) {
    const server = node.instance;
    if (server === undefined || server.node.failure !== undefined) continue;
    if (server.node.role !== 'leader') continue;
    if (best === undefined || server.node.generation > best.node.generation) best = server;
  }
  return best;
}

function partitioned(cluster: Cluster<RegisterServer>): boolean {
  return cluster.names.some((from) =>
    cluster.names.some((to) => from !== to && !cluster.network.canReach(from, to)),
  );
}

/**
 * Every 1-4 virtual s until `untilMs`, asks the current leader to hand leadership over (to the
 * most caught-up voter): transfers mixed with the changes, some while a change is uncommitted.
 */
function driveTransfers(
  cluster: Cluster<RegisterServer>,
  untilMs: number,
  sometimes: SometimesCounters | undefined,
): void {
  const random = cluster.simulation.random.stream('leadership transfer');
  const step = (): void => {
    if (cluster.now >= untilMs) return;
    cluster.simulation.schedule(random.between(1000, 4000), 'leadership transfer', step);
    const leader = currentLeader(cluster);
    if (leader === undefined) return;
    const changeUncommitted = leader.node.configurationIndex > leader.node.highWaterMark;
    leader.node.transferLeadership().then(
      () => {
        if (changeUncommitted) sometimes?.hit('membership: leadership transferred during a change');
      },
      (error: unknown) => {
        if (!(error instanceof LeaderFollowerError)) throw error;
      },
    );
  };
  cluster.simulation.schedule(random.between(1000, 4000), 'leadership transfer', step);
}

/**
 * Every 300-1500 virtual ms until `untilMs`, asks the current leader for one random change: add a
 * spare (never used before: a removed member's name is not reused with its old disk) as a
 * learner, promote a learner, or remove a voter (the leader itself about one time in three) while
 * more than three voters remain.
 */
function driveMembership(
  cluster: Cluster<RegisterServer>,
  untilMs: number,
  sometimes: SometimesCounters | undefined,
): void {
  const random = cluster.simulation.random.stream('membership');
  const everMember = new Set<string>(INITIAL_VOTERS);
  const step = (): void => {
    if (cluster.now >= untilMs) return;
    cluster.simulation.schedule(random.between(300, 1500), 'membership change', step);
    const leader = currentLeader(cluster);
    if (leader === undefined) return;
    const { voters, learners } = leader.node.configuration;
    const spares = NAMES.filter((name) => !everMember.has(name));
    let change: ConfigurationChange | undefined;
    const roll = random.next();
    if (learners.length > 0 && roll < 0.8) {
      change = { kind: roll < 0.7 ? 'promote' : 'remove', member: random.pick(learners) };
    } else if (voters.length > 3 && roll < 0.9) {
      const member = random.next() < 0.35 ? leader.name : random.pick(voters);
      change = { kind: 'remove', member };
    } else if (spares.length > 0) {
      change = { kind: 'add-learner', member: random.pick(spares) };
    }
    if (change === undefined) return;
    const during = partitioned(cluster);
    const proposed = change;
    if (proposed.kind === 'add-learner') everMember.add(proposed.member);
    leader.node.proposeConfigurationChange(proposed).then(
      () => {
        if (proposed.kind === 'add-learner') sometimes?.hit('membership: learner added');
        if (during) sometimes?.hit('membership: change during partition');
      },
      (error: unknown) => {
        if (error instanceof ConfigurationChangeRefusedError) {
          sometimes?.hit('membership: change refused');
        } else if (error instanceof LeaderFollowerError && !error.definite) {
          sometimes?.hit('membership: outcome indeterminate');
        } else if (!(error instanceof LeaderFollowerError)) {
          throw error;
        }
      },
    );
  };
  cluster.simulation.schedule(random.between(300, 1500), 'membership change', step);
}

/**
 * One seeded membership run: client load and membership changes under random crashes, pauses,
 * partitions and power loss, then recovery: the members converge and the history is
 * linearizable. The spares start at once, with empty storage and themselves as learners: each
 * waits, never campaigning, until the leader adds it.
 */
export function runMembership(options: MembershipRunOptions): Promise<SimulationReport> {
  const record: ClusterRecord = { applied: new Map(), violations: [] };
  const sometimes = options.sometimes;
  const payloadCacheBytes = payloadCacheBytesFor(options.seed);
  const tuning = (name: string): Partial<LeaderFollowerNodeOptions> => ({
    members: INITIAL_VOTERS,
    ...(INITIAL_VOTERS.includes(name) ? {} : { learners: [name] }),
    // Small snapshots and a short retained log: new members often catch up from a snapshot.
    snapshotEveryEntries: 60,
    retainEntriesAfterSnapshot: 10,
    ...(payloadCacheBytes === undefined ? {} : { payloadCacheBytes }),
    ...(sometimes === undefined
      ? {}
      : { onCoverage: (mark: CoverageMark) => sometimes.hit(coverageEvent(mark)) }),
  });
  return simulate(
    {
      seed: options.seed,
      nodes: NAMES,
      createNode: (ports) =>
        RegisterServer.create(ports, record, tuning(ports.name), streamsSnapshots(options.seed)),
      network: { lossRate: 0.01, duplicateRate: 0.01 },
      onStartFailure: 'crash',
      diskLatency: (operation, random) =>
        operation === 'datasync' || operation === 'syncDirectory'
          ? random.between(2, 10)
          : random.between(0.005, 0.05),
      ...(sometimes === undefined ? {} : { sometimes }),
      // A node that fails an assertion halts and is restarted like a crashed one: the run must
      // fail instead.
      onLog: (entry) => {
        if (entry.message === 'safety violation; stopping') {
          record.violations.push(`${entry.node}: ${String(entry.fields['error'])}`);
        }
      },
    },
    async (cluster) => {
      installInvariants(cluster, record);
      await cluster.start();
      const untilMs = cluster.now + options.durationMs;
      injectRandomFaults(cluster, { untilMs, meanIntervalMs: 500, maxDown: 1 });
      driveMembership(cluster, untilMs, sometimes);
      driveTransfers(cluster, untilMs, sometimes);
      await runWorkload(cluster, {
        clients: 3,
        durationMs: options.durationMs,
        thinkTimeMs: 40,
        timeoutMs: 2_000,
        generate: registerOperations(['x', 'y']),
        execute: registerExecutor(),
      });
      try {
        await cluster.runUntil(() => membersConverged(cluster), 30_000);
      } catch (error) {
        // Name what did not converge: the seed alone says little.
        throw new Error(`members did not converge: ${describeNodes(cluster)}`, { cause: error });
      }
      cluster.assertLinearizable();
    },
  );
}

/** Each node's role, generation, configuration and indexes, for a failure message. */
function describeNodes(cluster: Cluster<RegisterServer>): string {
  return cluster.nodes
    .map((node) => {
      const server = node.instance?.node;
      if (server === undefined) return `${node.name}: ${node.state}`;
      const { voters, learners } = server.configuration;
      return (
        `${node.name}: ${node.state} ${server.failure === undefined ? server.role : 'stopped'} ` +
        `g${server.generation} voters ${voters.join(',')} learners ${learners.join(',')} ` +
        `at ${server.configurationIndex}, hwm ${server.highWaterMark}, applied ${server.appliedThrough}, ` +
        `durable ${server.durableIndex}`
      );
    })
    .join('; ');
}

/** The leader's members (voters and learners) have all applied through its high-water mark. */
function membersConverged(cluster: Cluster<RegisterServer>): boolean {
  const leader = currentLeader(cluster);
  if (leader === undefined) return false;
  const { voters, learners } = leader.node.configuration;
  if (leader.node.configurationIndex > leader.node.highWaterMark) return false;
  return [...voters, ...learners].every((name) => {
    const node = cluster.node(name).instance?.node;
    return node !== undefined && node.appliedThrough === leader.node.highWaterMark;
  });
}

/**
 * Runs a membership seed set (see `runSeeds`); `LF_MEMBERSHIP_SEEDS` and `LF_MEMBERSHIP_FIRST`
 * override it for soaks.
 */
export function runMembershipSeedSet(
  first: number,
  count: number,
  durationMs = 20_000,
): Promise<{ seeds: number; sometimes: SometimesCounters }> {
  return runSeeds({
    first,
    count,
    soakVariablePrefix: 'LF_MEMBERSHIP',
    events: MEMBERSHIP_EVENTS,
    passedLine: (seed) => `membership seed ${seed} passed`,
    runOne: (seed, sometimes) => runMembership({ seed, durationMs, sometimes }),
  });
}
