import type { CheckReport } from './checks.js';
import type { ElectionCount } from './leader-elections.js';
import type { Availability, FaultMeasure, FaultWindow } from './measures.js';
import type { NemesisSchedule } from './nemesis-schedule.js';
import type { PoisonResult } from './poison-workload.js';
import type { StateBackend } from './state-backend.js';

/** Everything a chaos run found, as written to `result.json`. */
export interface ChaosResult {
  readonly seed: number;
  readonly nodeCount: number;
  /**
   * kv-node's state backend in the run (leader mode; absent in quorum mode, which has no state
   * store, and in results from before the option).
   */
  readonly backend?: StateBackend;
  /** Length of the faulty part of the run, in milliseconds. */
  readonly durationMs: number;
  /** True only if every check passed. */
  readonly passed: boolean;
  readonly checks: readonly CheckReport[];
  readonly schedule: NemesisSchedule;
  /** The faults as applied (leader selectors resolved), with their windows. */
  readonly faults: readonly FaultWindow[];
  readonly measures: {
    readonly operations: { readonly ok: number; readonly fail: number; readonly info: number };
    /** Successful operations per second over the workload. */
    readonly okPerSecond: number;
    readonly faults: readonly FaultMeasure[];
    /**
     * Milliseconds from each fault that took the leader away (killed, paused, cut off, restarted)
     * to the first successful write on a node the fault spared.
     */
    readonly failoverMs: readonly number[];
    readonly failoverP50Ms: number | undefined;
    readonly failoverP99Ms: number | undefined;
    /** The same, for leader kills (SIGKILL) only: the failover measure. */
    readonly leaderKillFailoverMs: readonly number[];
    readonly leaderKillFailoverP50Ms: number | undefined;
    readonly leaderKillFailoverP99Ms: number | undefined;
    /** Operations sent to the majority side while a minority without the leader was cut off. */
    readonly majoritySideDuringMinorityPartition: Availability;
    /**
     * Leaders elected after the first, split into those an injected fault explains and false
     * suspicions (see `countFalseSuspicions`), from the members' `leader elected` log lines.
     */
    readonly elections: ElectionCount;
  };
  /** What the poison requests got, by kind (absent when none were sent). */
  readonly poison?: PoisonResult;
  /** Things a reader should know: skipped faults, routing mode, unexpected exits. */
  readonly notices: readonly string[];
  /** Folder holding result.json, history.jsonl, logs/ and, on a failure, timeline.html. */
  readonly runDirectory: string;
}
