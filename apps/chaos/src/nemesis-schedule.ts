import { SeededRandom } from './seeded-random.js';

/**
 * Which nodes a fault hits: fixed nodes (indexes into the cluster, chosen when the schedule is
 * generated), or whichever node leads when the fault starts.
 */
export type NodeSelector =
  { readonly kind: 'nodes'; readonly indexes: readonly number[] } | { readonly kind: 'leader' };

/** How a partition cuts the cluster. */
export type PartitionShape =
  /** The selected nodes are cut off from every other node, both ways. */
  | { readonly kind: 'isolate'; readonly nodes: NodeSelector }
  /** The selected node can receive from no one but still sends (or the reverse). */
  | {
      readonly kind: 'one-way';
      readonly nodes: NodeSelector;
      readonly blocked: 'inbound' | 'outbound';
    }
  /** Each node talks only to its two neighbours on a ring: overlapping majorities, no full one. */
  | { readonly kind: 'ring'; readonly order: readonly number[] };

/** One fault of a nemesis schedule; every duration is in milliseconds. */
export type Fault =
  | { readonly kind: 'kill'; readonly nodes: NodeSelector; readonly downMs: number }
  | { readonly kind: 'pause'; readonly nodes: NodeSelector; readonly durationMs: number }
  | { readonly kind: 'partition'; readonly shape: PartitionShape; readonly durationMs: number }
  | {
      readonly kind: 'link-delay';
      readonly nodes: NodeSelector;
      readonly delayMs: number;
      readonly jitterMs: number;
      readonly durationMs: number;
    }
  | {
      readonly kind: 'link-drop';
      readonly nodes: NodeSelector;
      readonly probability: number;
      readonly durationMs: number;
    }
  | {
      readonly kind: 'clock-offset';
      readonly nodes: NodeSelector;
      /** Shift of the node's wall clock (Date), in milliseconds; negative is behind. */
      readonly offsetMs: number;
      /**
       * Speed of the node's wall clock relative to real time (1 = normal, 2 = twice as fast);
       * absent in schedules from before rates were drawn, meaning 1.
       */
      readonly rate?: number;
      readonly durationMs: number;
    }
  /**
   * The process-pause scenario: SIGSTOP the leader and cut it off from every peer (both ways);
   * SIGCONT it after `pauseMs` and heal `isolatedAfterWakeMs` later. It wakes believing it still
   * leads (it has heard nothing since), while a new leader has been elected and has committed
   * writes; clients keep talking to it. It must neither serve stale reads nor overwrite newer
   * writes.
   */
  | {
      readonly kind: 'stale-leader';
      readonly pauseMs: number;
      readonly isolatedAfterWakeMs: number;
    }
  /**
   * SIGKILL every member at once (a power cut of the whole cluster) and restart them all after
   * `downMs`: nothing acknowledged may be lost, since it was on a majority's disk.
   */
  | { readonly kind: 'kill-all'; readonly downMs: number }
  /**
   * The selected member's data file system runs out of space for up to `durationMs`: it must
   * fail-stop (never acknowledge what it could not persist) while the others serve; then it is
   * given space, restarted, and catches up.
   */
  | { readonly kind: 'disk-full'; readonly nodes: NodeSelector; readonly durationMs: number }
  /**
   * An on-path attacker on every peer link of the selected member (both ways): each chunk, with
   * `probability`, gets one byte changed. An authenticated channel detects it and drops the
   * connection; without one, values are silently changed and the checks must say so.
   */
  | {
      readonly kind: 'link-tamper';
      readonly nodes: NodeSelector;
      readonly probability: number;
      readonly durationMs: number;
    }
  /**
   * A member's disk dies and it is replaced (docs/guides/operations.md#replace-a-member): SIGKILL
   * it, delete its data directory, and after `downMs` remove it from the cluster, add it back as
   * a new learner under the same name, ports and peer URLs (it gets a fresh member id), start it
   * with an empty data directory and
   * `--initial-cluster-state existing`, and promote it once it has caught up (by snapshot, when
   * the leader's log no longer reaches back to the start).
   */
  | { readonly kind: 'replace-member'; readonly nodes: NodeSelector; readonly downMs: number }
  /**
   * The cluster grows by two and shrinks back under load (3 → 5 → 3, or 5 → 7 → 5): two spare
   * nodes, never members before, are added one at a time as learners, started with empty data
   * directories, and promoted once caught up; after `holdMs` two members are removed one at a
   * time (each stops by itself and its data is deleted): a follower drawn at run time, then the
   * leader when `removeLeader`, else another follower. Whoever is left is the cluster from then on.
   */
  | {
      readonly kind: 'grow-shrink';
      readonly removeLeader: boolean;
      readonly holdMs: number;
    };

/** Members a `grow-shrink` fault adds, and then removes. */
export const GROW_SHRINK_MEMBERS = 2;

/** The kinds of fault a schedule may draw from. */
export type FaultKind =
  | 'kill'
  | 'kill-leader'
  | 'pause'
  | 'partition'
  | 'link-delay'
  | 'link-drop'
  | 'clock-offset'
  | 'stale-leader'
  | 'kill-all'
  | 'disk-full'
  | 'link-tamper'
  | 'replace-member'
  | 'grow-shrink';

/**
 * The default mix, in the order the generator draws them. It keeps the kinds it had before the
 * safety faults were added, so a documented seed still reproduces its schedule; the safety
 * faults ({@link safetyFaultKinds}) are asked for with `kinds`.
 */
export const allFaultKinds: readonly FaultKind[] = [
  'kill',
  'kill-leader',
  'pause',
  'partition',
  'link-delay',
  'link-drop',
  'clock-offset',
  'stale-leader',
];

/**
 * Faults of issue 23 (safety): whole-cluster SIGKILL, a member's disk full, and tampering on a
 * peer link. `disk-full` needs `mount` (root); `link-tamper` passes only on a transport that
 * authenticates peer frames.
 */
export const safetyFaultKinds: readonly FaultKind[] = ['kill-all', 'disk-full', 'link-tamper'];

/**
 * The default mix against kv-node's quorum mode (`--replication quorum`), which has no leader:
 * the kinds that need none. A leader selector drawn by them (a kill, pause or partition "of the
 * leader") names a member drawn at random instead.
 */
export const quorumFaultKinds: readonly FaultKind[] = [
  'kill',
  'pause',
  'partition',
  'link-delay',
  'link-drop',
  'clock-offset',
  'kill-all',
];

/**
 * Faults of issue 21 (membership changes), asked for with `kinds`: a member replaced after its
 * disk died, and the cluster grown by two members and shrunk back. Run with a small
 * `--snapshot-count` (`--kv-node-arg=--snapshot-count=200`) so a new member catches up by snapshot.
 */
export const membershipFaultKinds: readonly FaultKind[] = ['replace-member', 'grow-shrink'];

/** Every kind a schedule can draw from: the default mix, the safety and membership faults. */
export const knownFaultKinds: readonly FaultKind[] = [
  ...allFaultKinds,
  ...safetyFaultKinds,
  ...membershipFaultKinds,
];

/** A fault and when it starts, in milliseconds after the workload starts. */
export interface ScheduledFault {
  readonly atMs: number;
  readonly fault: Fault;
}

/** A whole run's faults; reproducible from `seed`. */
export interface NemesisSchedule {
  readonly seed: number;
  readonly nodeCount: number;
  readonly durationMs: number;
  readonly steps: readonly ScheduledFault[];
}

/** Options of {@link generateSchedule}. */
export interface ScheduleOptions {
  readonly seed: number;
  /** Cluster size (at least 3). */
  readonly nodeCount: number;
  /**
   * Length of the faulty part of the run in milliseconds; every fault ends before it does.
   * Ignored with `faultCount`.
   */
  readonly durationMs: number;
  /**
   * Draw exactly this many faults, however long they take; the schedule's `durationMs` is then
   * the end of the last one (for runs that need a number of faults, such as failover figures).
   */
  readonly faultCount?: number;
  /** Fault kinds to draw from (default: all). */
  readonly kinds?: readonly FaultKind[];
  /** Quiet time before the first fault (default 3000 ms). */
  readonly warmupMs?: number;
  /** Quiet time between faults, drawn uniformly (default [1500, 3000] ms). */
  readonly quietMs?: readonly [number, number];
}

/** The longest a fault of `fault` takes, in milliseconds (a kill: the time the node is down). */
export function faultDurationMs(fault: Fault): number {
  switch (fault.kind) {
    case 'kill':
    case 'kill-all':
    case 'replace-member':
      return fault.downMs;
    case 'grow-shrink':
      return fault.holdMs;
    case 'stale-leader':
      return fault.pauseMs + fault.isolatedAfterWakeMs;
    default:
      return fault.durationMs;
  }
}

/**
 * Generates a nemesis schedule: non-overlapping faults separated by quiet time, drawn from a
 * generator seeded with `options.seed`. The same options always give the same schedule.
 * @throws RangeError if `nodeCount` is below 3, no fault kind is enabled, or `faultCount` is not
 *   a positive integer.
 */
export function generateSchedule(options: ScheduleOptions): NemesisSchedule {
  const { seed, nodeCount, durationMs } = options;
  if (nodeCount < 3) throw new RangeError('a nemesis schedule needs at least 3 nodes');
  const kinds = options.kinds ?? allFaultKinds;
  if (kinds.length === 0) throw new RangeError('no fault kind enabled');
  if (
    options.faultCount !== undefined &&
    !(Number.isInteger(options.faultCount) && options.faultCount > 0)
  ) {
    throw new RangeError('faultCount must be a positive integer');
  }
  const random = new SeededRandom(seed);
  const [quietMin, quietMax] = options.quietMs ?? [1500, 3000];
  const steps: ScheduledFault[] = [];
  const count = options.faultCount;
  let atMs = options.warmupMs ?? 3000;
  let endMs = atMs;
  while (count === undefined || steps.length < count) {
    const fault = drawFault(random, random.pick(kinds), nodeCount);
    if (count === undefined && atMs + faultDurationMs(fault) > durationMs) break;
    steps.push({ atMs, fault });
    endMs = atMs + faultDurationMs(fault);
    atMs = endMs + random.integer(quietMin, quietMax);
  }
  return { seed, nodeCount, durationMs: count === undefined ? durationMs : endMs, steps };
}

/** The largest minority of `nodeCount` nodes: losing it leaves a majority. */
export function largestMinority(nodeCount: number): number {
  return Math.floor((nodeCount - 1) / 2);
}

function drawNodes(random: SeededRandom, nodeCount: number, count: number): NodeSelector {
  const indexes = random
    .shuffle(Array.from({ length: nodeCount }, (_, index) => index))
    .slice(0, count)
    .sort((left, right) => left - right);
  return { kind: 'nodes', indexes };
}

function drawOneOrLeader(random: SeededRandom, nodeCount: number): NodeSelector {
  return random.next() < 0.5 ? { kind: 'leader' } : drawNodes(random, nodeCount, 1);
}

function drawFault(random: SeededRandom, kind: FaultKind, nodeCount: number): Fault {
  const minority = largestMinority(nodeCount);
  switch (kind) {
    case 'kill': {
      const choice = random.integer(0, 2);
      const nodes =
        choice === 0
          ? drawNodes(random, nodeCount, 1)
          : choice === 1
            ? drawNodes(random, nodeCount, random.integer(1, minority))
            : ({ kind: 'leader' } as const);
      return { kind: 'kill', nodes, downMs: random.integer(1000, 4000) };
    }
    case 'kill-leader':
      return { kind: 'kill', nodes: { kind: 'leader' }, downMs: random.integer(1000, 3000) };
    case 'pause':
      return {
        kind: 'pause',
        nodes: drawOneOrLeader(random, nodeCount),
        durationMs: random.integer(1000, 5000),
      };
    case 'partition':
      return {
        kind: 'partition',
        shape: drawShape(random, nodeCount),
        durationMs: random.integer(2000, 6000),
      };
    case 'link-delay':
      return {
        kind: 'link-delay',
        nodes: drawOneOrLeader(random, nodeCount),
        delayMs: random.integer(20, 200),
        jitterMs: random.integer(0, 100),
        durationMs: random.integer(2000, 6000),
      };
    case 'link-drop':
      return {
        kind: 'link-drop',
        nodes: drawOneOrLeader(random, nodeCount),
        probability: random.integer(5, 30) / 100,
        durationMs: random.integer(2000, 6000),
      };
    case 'clock-offset':
      return {
        kind: 'clock-offset',
        nodes: drawNodes(random, nodeCount, 1),
        offsetMs: (random.next() < 0.5 ? -1 : 1) * random.integer(1000, 60_000),
        // From half speed to twice as fast: drift far beyond any real oscillator's.
        rate: random.pick([0.5, 0.9, 1, 1.1, 2]),
        durationMs: random.integer(3000, 8000),
      };
    case 'stale-leader':
      // Long enough for the majority to elect a new leader (at most twice the 1 s default
      // election timeout, plus a retry) and commit writes while the old one sleeps.
      return {
        kind: 'stale-leader',
        pauseMs: random.integer(4000, 6000),
        isolatedAfterWakeMs: random.integer(2000, 3000),
      };
    case 'kill-all':
      return { kind: 'kill-all', downMs: random.integer(500, 2000) };
    case 'disk-full':
      // Long enough for a follower's next append (and a leader's next write) to hit the full disk.
      return {
        kind: 'disk-full',
        nodes: drawOneOrLeader(random, nodeCount),
        durationMs: random.integer(2000, 5000),
      };
    case 'link-tamper':
      return {
        kind: 'link-tamper',
        nodes: drawOneOrLeader(random, nodeCount),
        probability: random.integer(5, 50) / 100,
        durationMs: random.integer(2000, 5000),
      };
    case 'replace-member':
      return {
        kind: 'replace-member',
        nodes: drawOneOrLeader(random, nodeCount),
        downMs: random.integer(500, 3000),
      };
    case 'grow-shrink':
      return {
        kind: 'grow-shrink',
        removeLeader: random.next() < 0.5,
        holdMs: random.integer(1000, 4000),
      };
  }
}

function drawShape(random: SeededRandom, nodeCount: number): PartitionShape {
  // A ring over 3 nodes connects everyone, so it is drawn only from 5 nodes up.
  const shapes = nodeCount >= 5 ? 5 : 4;
  switch (random.integer(0, shapes - 1)) {
    case 0:
      return { kind: 'isolate', nodes: drawNodes(random, nodeCount, 1) };
    case 1:
      return { kind: 'isolate', nodes: { kind: 'leader' } };
    case 2:
      return {
        kind: 'isolate',
        nodes: drawNodes(random, nodeCount, random.integer(1, largestMinority(nodeCount))),
      };
    case 3:
      return {
        kind: 'one-way',
        nodes: drawOneOrLeader(random, nodeCount),
        blocked: random.next() < 0.5 ? 'inbound' : 'outbound',
      };
    default:
      return {
        kind: 'ring',
        order: random.shuffle(Array.from({ length: nodeCount }, (_, index) => index)),
      };
  }
}

/** The nodes a selector names, given the current leader (undefined if none is known). */
export function selectNodes(selector: NodeSelector, leaderIndex: number | undefined): number[] {
  if (selector.kind === 'nodes') return [...selector.indexes];
  return leaderIndex === undefined ? [] : [leaderIndex];
}

/**
 * The directed links (as [from, to] node indexes) a partition blocks.
 * @param leaderIndex the current leader, for leader selectors (none known: nothing is blocked).
 */
export function blockedLinks(
  shape: PartitionShape,
  nodeCount: number,
  leaderIndex: number | undefined,
): [number, number][] {
  const all = Array.from({ length: nodeCount }, (_, index) => index);
  const links: [number, number][] = [];
  switch (shape.kind) {
    case 'isolate': {
      const inside = new Set(selectNodes(shape.nodes, leaderIndex));
      for (const from of all) {
        for (const to of all) {
          if (from !== to && inside.has(from) !== inside.has(to)) links.push([from, to]);
        }
      }
      return links;
    }
    case 'one-way': {
      for (const node of selectNodes(shape.nodes, leaderIndex)) {
        for (const other of all) {
          if (other === node) continue;
          links.push(shape.blocked === 'inbound' ? [other, node] : [node, other]);
        }
      }
      return links;
    }
    case 'ring': {
      const position = new Map(shape.order.map((node, place) => [node, place]));
      for (const from of all) {
        for (const to of all) {
          if (from === to) continue;
          const distance = Math.abs((position.get(from) ?? 0) - (position.get(to) ?? 0));
          if (Math.min(distance, nodeCount - distance) > 1) links.push([from, to]);
        }
      }
      return links;
    }
  }
}

function describeSelector(selector: NodeSelector, names: readonly string[]): string {
  return selector.kind === 'leader'
    ? 'the leader'
    : selector.indexes.map((index) => names[index] ?? `#${index}`).join('+');
}

/** One line describing a fault, for progress output and results. */
export function describeFault(fault: Fault, names: readonly string[]): string {
  switch (fault.kind) {
    case 'kill':
      return `kill -9 ${describeSelector(fault.nodes, names)}, restart after ${fault.downMs} ms`;
    case 'pause':
      return `SIGSTOP ${describeSelector(fault.nodes, names)} for ${fault.durationMs} ms`;
    case 'partition': {
      const shape = fault.shape;
      const what =
        shape.kind === 'isolate'
          ? `isolate ${describeSelector(shape.nodes, names)}`
          : shape.kind === 'one-way'
            ? `one-way: ${describeSelector(shape.nodes, names)} ${shape.blocked === 'inbound' ? 'hears no one' : 'reaches no one'}`
            : `ring ${shape.order.map((index) => names[index] ?? `#${index}`).join('-')}`;
      return `partition (${what}) for ${fault.durationMs} ms`;
    }
    case 'link-delay':
      return `delay links of ${describeSelector(fault.nodes, names)} by ${fault.delayMs}±${fault.jitterMs} ms for ${fault.durationMs} ms`;
    case 'link-drop':
      return `drop ${Math.round(fault.probability * 100)}% on links of ${describeSelector(fault.nodes, names)} for ${fault.durationMs} ms`;
    case 'clock-offset':
      return `clock of ${describeSelector(fault.nodes, names)} off by ${fault.offsetMs} ms${fault.rate === undefined || fault.rate === 1 ? '' : ` running at x${fault.rate}`} for ${fault.durationMs} ms`;
    case 'stale-leader':
      return `SIGSTOP and cut off the leader for ${fault.pauseMs} ms, heal ${fault.isolatedAfterWakeMs} ms after it wakes`;
    case 'kill-all':
      return `kill -9 every member at once, restart all after ${fault.downMs} ms`;
    case 'disk-full':
      return `disk full on ${describeSelector(fault.nodes, names)} for up to ${fault.durationMs} ms, then space and a restart`;
    case 'link-tamper':
      return `tamper with ${Math.round(fault.probability * 100)}% of chunks on links of ${describeSelector(fault.nodes, names)} for ${fault.durationMs} ms`;
    case 'replace-member':
      return `replace ${describeSelector(fault.nodes, names)}: kill -9, wipe its disk, after ${fault.downMs} ms remove it, add it back as a learner, catch up, promote`;
    case 'grow-shrink':
      return `grow by ${GROW_SHRINK_MEMBERS}: add new members one at a time as learners, catch up, promote; after ${fault.holdMs} ms shrink: remove ${fault.removeLeader ? 'a follower, then the leader' : `${GROW_SHRINK_MEMBERS} followers`} one at a time, wipe their disks`;
  }
}
