import type { FaultWindow } from './measures.js';

/** A leader elected in some generation, as the winner logged it. */
export interface LeaderElection {
  /** The member that won. */
  readonly node: string;
  readonly generation: number;
  /** Milliseconds since the workload started (the runner's clock, like fault windows). */
  readonly atMs: number;
}

/** Every election of a run after its first leader, each explained by a fault or not. */
export interface ElectionCount {
  /** Leaders elected after the run's first leader (one per generation). */
  readonly elections: number;
  /** Elections that replaced a leader an injected fault had taken away. */
  readonly explained: number;
  /**
   * Elections no injected crash or pause explains: the leader was up and reachable, yet a new
   * one was elected (see {@link countFalseSuspicions}).
   */
  readonly falseSuspicions: number;
  /** The unexplained elections, for the result file. */
  readonly unexplained: readonly LeaderElection[];
}

/** A log line's `time`: ISO 8601 as kv-node writes it (etcd's style), or pino's epoch milliseconds. */
function logTimeMs(time: unknown): number | undefined {
  if (typeof time === 'number') return time;
  if (typeof time !== 'string') return undefined;
  const ms = Date.parse(time);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * The elections in a member's log: JSON lines whose message is `leader elected` (logged
 * once by the winner of each generation), with the line's wall-clock `time` turned into the
 * runner's clock by subtracting `workloadStartWallMs`. Lines that are not JSON (the runner's own
 * markers, a crash trace) are skipped.
 */
export function parseLeaderElections(
  logText: string,
  node: string,
  workloadStartWallMs: number,
): LeaderElection[] {
  const elections: LeaderElection[] = [];
  for (const line of logText.split('\n')) {
    if (!line.startsWith('{') || !line.includes('"leader elected"')) continue;
    let record: { msg?: unknown; time?: unknown; generation?: unknown };
    try {
      record = JSON.parse(line) as typeof record;
    } catch {
      continue;
    }
    const timeMs = logTimeMs(record.time);
    if (
      record.msg !== 'leader elected' ||
      timeMs === undefined ||
      typeof record.generation !== 'number'
    ) {
      continue;
    }
    elections.push({ node, generation: record.generation, atMs: timeMs - workloadStartWallMs });
  }
  return elections;
}

/**
 * Splits a run's elections into those an injected fault explains and false suspicions.
 *
 * Definition: elections are counted once per generation (a generation has at most one leader)
 * and only after the workload started (the first leader forms the cluster). Each election is
 * attributed to the last fault that started before it. It is **explained** when that fault took
 * the leader away (`leaderLost`: the leader was killed, paused or cut off) and it is the first
 * election since that fault started: the cluster replaced the leader it lost. Every other
 * election is a **false suspicion**: a member suspected a leader that was running and
 * reachable, and the cluster changed leaders without a crash or pause to explain it. That
 * includes an election before any fault, a second election after one lost leader (the new
 * leader deposed in turn), and an election caused by a restarted member.
 *
 * Split votes are not counted: a generation whose candidates all lost has no `leader elected`
 * line, and is part of its failover's time, not a change of leader.
 */
export function countFalseSuspicions(
  elections: readonly LeaderElection[],
  faults: readonly FaultWindow[],
): ElectionCount {
  const byGeneration = new Map<number, LeaderElection>();
  for (const election of elections) {
    const known = byGeneration.get(election.generation);
    if (known === undefined || election.atMs < known.atMs) {
      byGeneration.set(election.generation, election);
    }
  }
  const ordered = [...byGeneration.values()]
    .filter((election) => election.atMs >= 0)
    .sort((left, right) => left.atMs - right.atMs || left.generation - right.generation);
  const applied = faults
    .filter((fault) => fault.skipped === undefined)
    .sort((left, right) => left.startMs - right.startMs);
  const faultsWithElection = new Set<FaultWindow>();
  const unexplained: LeaderElection[] = [];
  for (const election of ordered) {
    const cause = applied.findLast((fault) => fault.startMs <= election.atMs);
    if (cause?.leaderLost === true && !faultsWithElection.has(cause)) {
      faultsWithElection.add(cause);
    } else {
      unexplained.push(election);
    }
  }
  return {
    elections: ordered.length,
    explained: faultsWithElection.size,
    falseSuspicions: unexplained.length,
    unexplained,
  };
}
