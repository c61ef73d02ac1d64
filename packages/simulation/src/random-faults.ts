import type { Cluster } from './cluster.js';
import type { DiskOperation } from './disk-latency.js';
import type { Fault } from './fault.js';
import type { SimulatedNode } from './simulated-node.js';

/** The kinds of fault the random schedule draws. */
export type RandomFaultKind =
  | 'crash'
  | 'pause'
  | 'partition'
  | 'isolate'
  | 'one-way'
  | 'bridge'
  | 'ring'
  | 'reset'
  | 'clock-jump'
  | 'disk-error';

/** Options of {@link injectRandomFaults}. All times are virtual milliseconds. */
export interface RandomFaultOptions {
  /** Mean time between faults (exponentially distributed). Default 250. */
  meanIntervalMs?: number;
  /**
   * Relative weights of the fault kinds. Defaults: crash 2, pause 1, partition 1, isolate 1,
   * one-way 0.5, bridge 0.5, ring 0.5, reset 1, clock-jump 0.5, disk-error 0 (opt in: it needs a
   * system that fails stop on I/O errors).
   */
  weights?: Partial<Record<RandomFaultKind, number>>;
  /** At most this many nodes crashed or paused at once. Default: a minority, floor((n - 1) / 2). */
  maxDown?: number;
  /** A crashed (or halted) node restarts after a time drawn in this range. Default [50, 2000]. */
  downtimeMs?: readonly [number, number];
  /** Pause length range. Default [10, 2000]. */
  pauseMs?: readonly [number, number];
  /** How long a partition lasts before it heals. Default [50, 3000]. */
  partitionMs?: readonly [number, number];
  /** Clock jump range. Default [1, 3000]. */
  clockJumpMs?: readonly [number, number];
  /** Fraction of crashes that are power losses (unsynced writes lost) rather than process kills. Default 0.5. */
  powerLossRate?: number;
  /** Disk operations a `disk-error` fault fails. Default datasync and write. */
  diskErrorOperations?: readonly DiskOperation[];
  /** Absolute virtual time after which no new fault starts and the cluster recovers. Default: never. */
  untilMs?: number;
}

const defaultWeights: Record<RandomFaultKind, number> = {
  crash: 2,
  pause: 1,
  partition: 1,
  isolate: 1,
  'one-way': 0.5,
  bridge: 0.5,
  ring: 0.5,
  reset: 1,
  'clock-jump': 0.5,
  'disk-error': 0,
};

/**
 * Injects faults drawn from the `faults` random stream until `untilMs`, then heals the network,
 * resumes paused nodes and restarts crashed ones ({@link Cluster.recover}). Every crash, including
 * a node halting itself, is followed by a restart after a random downtime, so the cluster keeps
 * coming back. The same seed yields the same schedule.
 */
export function injectRandomFaults<TNode>(
  cluster: Cluster<TNode>,
  options: RandomFaultOptions = {},
): void {
  const simulation = cluster.simulation;
  const random = simulation.random.stream('faults');
  const weights = { ...defaultWeights, ...options.weights };
  const kinds = (Object.keys(weights) as RandomFaultKind[]).filter((kind) => weights[kind] > 0);
  const totalWeight = kinds.reduce((sum, kind) => sum + weights[kind], 0);
  const names = cluster.names;
  const maxDown = options.maxDown ?? Math.floor((names.length - 1) / 2);
  const meanInterval = options.meanIntervalMs ?? 250;
  const [downMin, downMax] = options.downtimeMs ?? [50, 2000];
  const [pauseMin, pauseMax] = options.pauseMs ?? [10, 2000];
  const [partitionMin, partitionMax] = options.partitionMs ?? [50, 3000];
  const [jumpMin, jumpMax] = options.clockJumpMs ?? [1, 3000];
  const powerLossRate = options.powerLossRate ?? 0.5;
  const diskOperations = options.diskErrorOperations ?? ['datasync', 'write'];
  const untilMs = options.untilMs ?? Number.POSITIVE_INFINITY;
  let partitionGeneration = 0;
  let over = false;

  const down = (): number =>
    cluster.nodes.filter((node) => node.state === 'crashed' || node.state === 'paused').length;
  const pickRunning = (): SimulatedNode<TNode> | undefined => {
    const running = cluster.runningNodes;
    return running.length === 0 ? undefined : random.pick(running);
  };
  const healLater = (): void => {
    const generation = ++partitionGeneration;
    simulation.schedule(random.between(partitionMin, partitionMax), 'fault heal', () => {
      if (generation === partitionGeneration && !over) cluster.apply({ kind: 'heal' });
    });
  };

  cluster.onNodeCrash((node) => {
    const incarnation = node.incarnation;
    simulation.schedule(random.between(downMin, downMax), 'fault restart', () => {
      if (node.state === 'crashed' && node.incarnation === incarnation) {
        cluster.apply({ kind: 'restart', node: node.name });
      }
    });
  });

  const draw = (): Fault | undefined => {
    let roll = random.next() * totalWeight;
    let kind: RandomFaultKind = kinds[kinds.length - 1] ?? 'reset';
    for (const candidate of kinds) {
      roll -= weights[candidate];
      if (roll < 0) {
        kind = candidate;
        break;
      }
    }
    switch (kind) {
      case 'crash': {
        const node = pickRunning();
        if (node === undefined || down() >= maxDown) return undefined;
        return { kind, node: node.name, powerLoss: random.chance(powerLossRate) };
      }
      case 'pause': {
        const node = pickRunning();
        if (node === undefined || down() >= maxDown) return undefined;
        return { kind, node: node.name, durationMs: random.between(pauseMin, pauseMax) };
      }
      case 'partition': {
        const minoritySize = random.integer(1, Math.max(1, Math.floor((names.length - 1) / 2)));
        healLater();
        return { kind, groups: [random.shuffle(names).slice(0, minoritySize)] };
      }
      case 'isolate':
        healLater();
        return { kind, node: random.pick(names) };
      case 'one-way': {
        const [from, to] = random.shuffle(names);
        if (from === undefined || to === undefined) return undefined;
        healLater();
        return { kind, from, to };
      }
      case 'bridge':
        healLater();
        return { kind, node: random.pick(names) };
      case 'ring':
        healLater();
        return { kind };
      case 'reset': {
        const [a, b] = random.shuffle(names);
        return a === undefined || b === undefined ? undefined : { kind, a, b };
      }
      case 'clock-jump':
        return { kind, node: random.pick(names), ms: random.between(jumpMin, jumpMax) };
      case 'disk-error': {
        const node = pickRunning();
        if (node === undefined) return undefined;
        return { kind, node: node.name, operation: random.pick(diskOperations) };
      }
    }
  };

  const tick = (): void => {
    if (simulation.now >= untilMs) {
      over = true;
      cluster.recover();
      return;
    }
    const fault = draw();
    if (fault !== undefined) cluster.apply(fault);
    scheduleNext();
  };
  const scheduleNext = (): void => {
    const delay = random.exponential(meanInterval);
    if (simulation.now + delay >= untilMs) simulation.scheduleAt(untilMs, 'fault', tick);
    else simulation.schedule(delay, 'fault', tick);
  };
  if (kinds.length > 0 || Number.isFinite(untilMs)) scheduleNext();
}
