import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import type { ChaosResult } from './chaos-result.js';
import { failoverTimes, percentile } from './measures.js';
import type { ChaosOptions } from './run-chaos.js';
import { runChaos } from './run-chaos.js';

/** kv-node's `--failure-detector` choices. */
export type DetectorKind = 'fixed' | 'phi';

/** Options of {@link runDetectorAb}. */
export interface DetectorAbOptions {
  /** Everything a chaos run needs but its seed, fault kinds and fault count. */
  readonly base: Omit<ChaosOptions, 'seed' | 'kinds' | 'faultCount' | 'log' | 'signal'>;
  /** Seed of the first block; block `b` runs seed + b in every arm (the same kills). */
  readonly seed: number;
  /** The arms, each a `--failure-detector` for every member (default fixed, phi). */
  readonly detectors?: readonly DetectorKind[];
  /** Leader kills with a measured failover each arm needs at least (default 50). */
  readonly killsPerArm?: number;
  /** Leader kills per block, one cluster run of one arm (default 10). */
  readonly blockKills?: number;
  readonly log?: (line: string) => void;
  readonly signal?: AbortSignal;
}

/** One block of one arm: a whole chaos run. */
export interface DetectorAbRun {
  readonly block: number;
  readonly seed: number;
  readonly passed: boolean;
  /** Names of the checks that failed, if any. */
  readonly failedChecks: readonly string[];
  readonly leaderKills: number;
  readonly failoverMs: readonly number[];
  readonly elections: number;
  readonly falseSuspicions: number;
  readonly runDirectory: string;
}

/** One arm's figures over all its blocks. */
export interface DetectorArm {
  readonly detector: DetectorKind;
  readonly runs: readonly DetectorAbRun[];
  /** SIGKILLs of the leader applied (faults that found no leader are not counted). */
  readonly leaderKills: number;
  /** Failover after each leader kill whose probe write succeeded, in milliseconds. */
  readonly failoverMs: readonly number[];
  readonly failoverP50Ms: number | undefined;
  readonly failoverP99Ms: number | undefined;
  readonly failoverMaxMs: number | undefined;
  /** Leaders elected after each run's first. */
  readonly elections: number;
  /** Elections no kill explains (see `countFalseSuspicions`). */
  readonly falseSuspicions: number;
}

/** What {@link runDetectorAb} measured. */
export interface DetectorAbResult {
  readonly seed: number;
  readonly killsPerArm: number;
  readonly blockKills: number;
  /** The arms in the order their blocks ran. */
  readonly order: readonly DetectorKind[];
  readonly arms: readonly DetectorArm[];
  readonly nodeVersion: string;
  /** `os.loadavg()` (1, 5, 15 minutes) before the first block and after the last. */
  readonly loadBefore: readonly number[];
  readonly loadAfter: readonly number[];
  /** Wall time of the whole comparison, in seconds. */
  readonly wallSeconds: number;
  /** Where the comparison's JSON was written. */
  readonly resultFile: string;
}

/**
 * The order of the arms in block `block`: as given in even blocks, reversed in odd ones (ABBA),
 * so that neither arm always runs first after a pause or last before one, and both see the
 * machine's load as it drifts.
 */
export function armOrder<T>(block: number, arms: readonly T[]): T[] {
  return block % 2 === 0 ? [...arms] : [...arms].reverse();
}

/** One chaos run's share of an arm: its leader kills, failovers and elections. */
export function summarizeRun(block: number, result: ChaosResult): DetectorAbRun {
  const leaderKills = result.faults.filter(
    (fault) => fault.kind === 'kill' && fault.leaderLost && fault.skipped === undefined,
  ).length;
  return {
    block,
    seed: result.seed,
    passed: result.passed,
    failedChecks: result.checks.filter((check) => !check.passed).map((check) => check.name),
    leaderKills,
    failoverMs: failoverTimes(result.faults, ['kill']),
    elections: result.measures.elections.elections,
    falseSuspicions: result.measures.elections.falseSuspicions,
    runDirectory: result.runDirectory,
  };
}

/** An arm's figures from its runs. */
export function summarizeArm(detector: DetectorKind, runs: readonly DetectorAbRun[]): DetectorArm {
  const failoverMs = runs.flatMap((run) => run.failoverMs);
  return {
    detector,
    runs,
    leaderKills: runs.reduce((sum, run) => sum + run.leaderKills, 0),
    failoverMs,
    failoverP50Ms: percentile(failoverMs, 50),
    failoverP99Ms: percentile(failoverMs, 99),
    failoverMaxMs: percentile(failoverMs, 100),
    elections: runs.reduce((sum, run) => sum + run.elections, 0),
    falseSuspicions: runs.reduce((sum, run) => sum + run.falseSuspicions, 0),
  };
}

/**
 * Compares kv-node's failure detectors in one invocation: blocks of leader kills (SIGKILL the
 * leader, restart it after 1-3 s, wait until the cluster is whole, quiet 1.5-3 s, repeat), one
 * fresh cluster per block and arm, every member started with `--failure-detector <arm>`. The
 * arms alternate block by block (ABBA), so both see the same machine load; each block's seed is
 * the same in both arms, so both get the same kills, down times and quiet times. Blocks go on
 * until every arm has `killsPerArm` measured failovers (at most twice the blocks that should
 * take). Writes `<resultsDirectory>/<time>-detector-ab.json`.
 */
export async function runDetectorAb(options: DetectorAbOptions): Promise<DetectorAbResult> {
  const log = options.log ?? (() => undefined);
  const detectors = options.detectors ?? ['fixed', 'phi'];
  const killsPerArm = options.killsPerArm ?? 50;
  const blockKills = options.blockKills ?? 10;
  const maxBlocks = 2 * Math.ceil(killsPerArm / blockKills);
  const runs = new Map<DetectorKind, DetectorAbRun[]>(detectors.map((arm) => [arm, []]));
  const measured = (arm: DetectorKind): number =>
    (runs.get(arm) ?? []).reduce((sum, run) => sum + run.failoverMs.length, 0);
  const order: DetectorKind[] = [];
  const loadBefore = loadavg();
  const started = performance.now();
  for (let block = 0; block < maxBlocks; block++) {
    if (detectors.every((arm) => measured(arm) >= killsPerArm)) break;
    for (const arm of armOrder(block, detectors)) {
      if (options.signal?.aborted === true) throw new Error('aborted');
      const seed = options.seed + block;
      log(
        `block ${block + 1}, --failure-detector ${arm}: ${blockKills} leader kills, seed ${seed}`,
      );
      const result = await runChaos({
        ...options.base,
        seed,
        kinds: ['kill-leader'],
        faultCount: blockKills,
        extraNodeArgs: [...(options.base.extraNodeArgs ?? []), '--failure-detector', arm],
        log: (line) => log(`  [${arm}] ${line}`),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
      const run = summarizeRun(block, result);
      runs.get(arm)?.push(run);
      order.push(arm);
      log(
        `block ${block + 1}, ${arm}: ${run.failoverMs.length}/${run.leaderKills} failovers measured, ${run.falseSuspicions} false suspicions, ${run.passed ? 'every check passed' : `FAILED ${run.failedChecks.join(', ')}`}`,
      );
    }
  }
  const arms = detectors.map((arm) => summarizeArm(arm, runs.get(arm) ?? []));
  mkdirSync(options.base.resultsDirectory, { recursive: true });
  const resultFile = join(
    options.base.resultsDirectory,
    `${new Date().toISOString().replace(/[:.]/g, '-')}-detector-ab.json`,
  );
  const result: DetectorAbResult = {
    seed: options.seed,
    killsPerArm,
    blockKills,
    order,
    arms,
    nodeVersion: process.version,
    loadBefore,
    loadAfter: loadavg(),
    wallSeconds: (performance.now() - started) / 1000,
    resultFile,
  };
  writeFileSync(resultFile, `${JSON.stringify(result, null, 2)}\n`);
  return result;
}

/** The terminal summary of a comparison: one line per arm. */
export function formatDetectorAb(result: DetectorAbResult): string {
  const ms = (value: number | undefined): string =>
    value === undefined ? '-' : String(Math.round(value));
  const load = (values: readonly number[]): string =>
    values.map((value) => value.toFixed(2)).join(' ');
  const lines = [
    `failure detector A/B: seed ${result.seed}, ${result.blockKills} leader kills per block, arms interleaved (${result.order.join(' ')})`,
    `node ${result.nodeVersion}; load average ${load(result.loadBefore)} before, ${load(result.loadAfter)} after; ${Math.round(result.wallSeconds)} s`,
    '',
    'detector  kills  failovers  p50 ms  p99 ms  max ms  elections  false suspicions  runs passed',
  ];
  for (const arm of result.arms) {
    const passed = arm.runs.filter((run) => run.passed).length;
    lines.push(
      `${arm.detector.padEnd(8)}  ${String(arm.leaderKills).padStart(5)}  ${String(arm.failoverMs.length).padStart(9)}  ${ms(arm.failoverP50Ms).padStart(6)}  ${ms(arm.failoverP99Ms).padStart(6)}  ${ms(arm.failoverMaxMs).padStart(6)}  ${String(arm.elections).padStart(9)}  ${String(arm.falseSuspicions).padStart(16)}  ${passed}/${arm.runs.length}`,
    );
  }
  for (const arm of result.arms) {
    for (const run of arm.runs) {
      if (!run.passed) {
        lines.push(
          `note: ${arm.detector} block ${run.block + 1} failed ${run.failedChecks.join(', ')}; see ${run.runDirectory}`,
        );
      }
    }
  }
  lines.push('', `results in ${result.resultFile}`);
  return lines.join('\n');
}
