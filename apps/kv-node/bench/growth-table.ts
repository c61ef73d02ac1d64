/**
 * The markdown table `growth.bench.ts` prints: per case, kv-node beside etcd 3.4 over the same
 * rounds, and each put case against the 3-member 100 B case (`put-3`) of the same run.
 */

import type { BenchResult } from './kv-bench.js';

/** One workload at one cluster size, value size and store size. */
export interface GrowthCase {
  /** Short name, used by CASES (`put-3`, `put-5`, `put-4k`, `put-1m`, `range-10k`). */
  name: string;
  /** kv-bench's workload: `put`, or `range-keys` (one range over all the keys). */
  workload: 'put' | 'range-keys';
  members: number;
  valueBytes: number;
  /** Keys in the store (loaded before the runs; puts pick among them at random). */
  keys: number;
  clients: number;
}

/** One measured run: kv-bench's result and the members' costs during it. */
export interface GrowthRun {
  case: string;
  system: string;
  round: number;
  members: number;
  valueBytes: number;
  keys: number;
  result: BenchResult;
  /** The members' CPU seconds during the run, all members together (absent without /proc). */
  memberCpuSeconds?: number;
  cpuMsPerRequest?: number;
  writeSyscallsPerRequest?: number;
}

/** A system's rounds of one case taken together. */
interface Summary {
  throughput: number;
  /** Per round, in round order. */
  throughputs: number[];
  p50: number;
  p99: number;
  /** Summed over members, per request; NaN where a round has no CPU figure. */
  cpuMicroseconds: number;
  bytesPerSecond: number;
  errors: number;
}

function summarize(runs: readonly GrowthRun[]): Summary | undefined {
  if (runs.length === 0) return undefined;
  const sorted = [...runs].sort((a, b) => a.round - b.round);
  let requests = 0;
  let seconds = 0;
  let bytes = 0;
  let cpuSeconds = 0;
  let errors = 0;
  for (const run of sorted) {
    requests += run.result.requests;
    seconds += run.result.durationSeconds;
    bytes += run.result.responseBytes;
    errors += run.result.errors;
    cpuSeconds += run.memberCpuSeconds ?? Number.NaN;
  }
  const mean = (values: number[]): number =>
    values.reduce((sum, value) => sum + value, 0) / values.length;
  return {
    throughput: requests / seconds,
    // From the counts, not kv-bench's rounded rate: a range case makes a handful per second.
    throughputs: sorted.map((run) => run.result.requests / run.result.durationSeconds),
    // Percentiles do not add up across runs: the mean of the rounds' own.
    p50: mean(sorted.map((run) => run.result.latencyMs.p50)),
    p99: mean(sorted.map((run) => run.result.latencyMs.p99)),
    cpuMicroseconds: requests === 0 ? Number.NaN : (1e6 * cpuSeconds) / requests,
    bytesPerSecond: bytes / seconds,
    errors,
  };
}

const fixed = (value: number, digits: number): string =>
  Number.isFinite(value) ? value.toFixed(digits) : '?';
const whole = (value: number): string =>
  Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '?';
/** Rates under 100 a second keep a decimal (ranges of 10,000 keys are that slow). */
const rate = (value: number): string => (value < 100 ? fixed(value, 1) : whole(value));
const milliseconds = (value: number): string => fixed(value, value < 10 ? 2 : 1);

/** `growthCase` in words, e.g. `put @64, 5 members, 100 B, 10,000 keys`. */
export function describeCase(growthCase: GrowthCase): string {
  const size =
    growthCase.valueBytes % 1024 === 0
      ? `${growthCase.valueBytes / 1024} KiB`
      : `${growthCase.valueBytes} B`;
  const keys = growthCase.keys.toLocaleString('en-US');
  return growthCase.workload === 'put'
    ? `put @${growthCase.clients}, ${growthCase.members} members, ${size}, ${keys} keys`
    : `range of all ${keys} keys (${size}) @${growthCase.clients}, ${growthCase.members} members`;
}

/**
 * The table of `runs` (any rounds, any order) for `cases`, kv-node against etcd 3.4: throughput
 * over all rounds and the kv-node / etcd ratio (then each round's), the rounds' mean p50 and p99,
 * the members' CPU per request, response MB/s for ranges, and each put case's throughput as a
 * share of `put-3`'s for the same system (`-` when this run had no `put-3`).
 */
export function growthTable(cases: readonly GrowthCase[], runs: readonly GrowthRun[]): string {
  const of = (name: string, system: string): Summary | undefined =>
    summarize(runs.filter((run) => run.case === name && run.system === system));
  const baseline = { kvNode: of('put-3', 'kv-node'), etcd: of('put-3', 'etcd-3.4') };
  const lines = [
    '| case | kv-node req/s | etcd req/s | kv-node / etcd (by round) | kv-node p50 / p99 ms | etcd p50 / p99 ms | CPU µs/req, all members, kv-node / etcd | response MB/s kv-node / etcd | req/s as a share of put-3, kv-node / etcd |',
    '| --- | ---: | ---: | --- | --- | --- | --- | --- | --- |',
  ];
  const notes: string[] = [];
  for (const growthCase of cases) {
    const kvNode = of(growthCase.name, 'kv-node');
    const etcd = of(growthCase.name, 'etcd-3.4');
    if (kvNode === undefined || etcd === undefined) continue;
    const byRound = kvNode.throughputs
      .map((throughput, index) => fixed(throughput / (etcd.throughputs[index] ?? Number.NaN), 2))
      .join(', ');
    const megabytes = (summary: Summary): string => fixed(summary.bytesPerSecond / 1e6, 1);
    const share = (summary: Summary, base: Summary | undefined): string =>
      base === undefined ? '-' : fixed(summary.throughput / base.throughput, 2);
    lines.push(
      `| ${growthCase.name}: ${describeCase(growthCase)} | ${rate(kvNode.throughput)} | ${rate(etcd.throughput)} | **${fixed(kvNode.throughput / etcd.throughput, 2)}** (${byRound}) | ${milliseconds(kvNode.p50)} / ${milliseconds(kvNode.p99)} | ${milliseconds(etcd.p50)} / ${milliseconds(etcd.p99)} | ${whole(kvNode.cpuMicroseconds)} / ${whole(etcd.cpuMicroseconds)} | ${growthCase.workload === 'range-keys' ? `${megabytes(kvNode)} / ${megabytes(etcd)}` : '-'} | ${growthCase.workload === 'put' ? `${share(kvNode, baseline.kvNode)} / ${share(etcd, baseline.etcd)}` : '-'} |`,
    );
    for (const [system, summary] of [
      ['kv-node', kvNode],
      ['etcd', etcd],
    ] as const) {
      if (summary.errors > 0)
        notes.push(`${growthCase.name}: ${system} had ${summary.errors} failed requests.`);
    }
  }
  return [...lines, ...(notes.length === 0 ? [] : ['', ...notes])].join('\n');
}
