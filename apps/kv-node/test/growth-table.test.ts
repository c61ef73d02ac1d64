/**
 * bench:growth's table: kv-node beside etcd 3.4 per case over the rounds, and each put case as a
 * share of the 3-member 100 B case.
 */

import { describe, expect, it } from 'vitest';
import type { GrowthCase, GrowthRun } from '../bench/growth-table.js';
import { describeCase, growthTable } from '../bench/growth-table.js';
import type { BenchResult } from '../bench/kv-bench.js';

const put3: GrowthCase = {
  name: 'put-3',
  workload: 'put',
  members: 3,
  valueBytes: 100,
  keys: 10_000,
  clients: 64,
};
const put5: GrowthCase = { ...put3, name: 'put-5', members: 5 };
const range: GrowthCase = {
  name: 'range-10k',
  workload: 'range-keys',
  members: 3,
  valueBytes: 100,
  keys: 10_000,
  clients: 4,
};

function growthRun(
  growthCase: GrowthCase,
  system: string,
  round: number,
  figures: {
    requests: number;
    p50: number;
    p99: number;
    cpuSeconds: number;
    bytes?: number;
    errors?: number;
  },
): GrowthRun {
  const durationSeconds = 10;
  const result: BenchResult = {
    protocol: 'http',
    workload: growthCase.workload,
    endpoints: growthCase.members,
    clients: growthCase.clients,
    connections: growthCase.clients,
    valueBytes: growthCase.valueBytes,
    durationSeconds,
    requests: figures.requests,
    errors: figures.errors ?? 0,
    throughput: Math.round(figures.requests / durationSeconds),
    responseBytes: figures.bytes ?? 0,
    responseBytesPerSecond: Math.round((figures.bytes ?? 0) / durationSeconds),
    clientCpuSeconds: 1,
    latencyMs: {
      p50: figures.p50,
      p90: figures.p99,
      p99: figures.p99,
      max: figures.p99,
      mean: figures.p50,
    },
  };
  return {
    case: growthCase.name,
    system,
    round,
    members: growthCase.members,
    valueBytes: growthCase.valueBytes,
    keys: growthCase.keys,
    result,
    memberCpuSeconds: figures.cpuSeconds,
  };
}

function rowOf(table: string, name: string): string[] {
  const row = table.split('\n').find((line) => line.startsWith(`| ${name}:`));
  if (row === undefined) throw new Error(`no row for ${name} in\n${table}`);
  return row.split(' | ').map((cell) => cell.replace(/^\| |\s*\|$/g, ''));
}

describe('growthTable', () => {
  const runs = [
    growthRun(put3, 'kv-node', 1, { requests: 60_000, p50: 8, p99: 20, cpuSeconds: 12 }),
    growthRun(put3, 'etcd-3.4', 1, { requests: 50_000, p50: 10, p99: 30, cpuSeconds: 15 }),
    growthRun(put3, 'kv-node', 2, { requests: 40_000, p50: 10, p99: 30, cpuSeconds: 8 }),
    growthRun(put3, 'etcd-3.4', 2, { requests: 50_000, p50: 12, p99: 34, cpuSeconds: 15 }),
    growthRun(put5, 'kv-node', 1, { requests: 30_000, p50: 20, p99: 40, cpuSeconds: 9 }),
    growthRun(put5, 'etcd-3.4', 1, {
      requests: 40_000,
      p50: 15,
      p99: 35,
      cpuSeconds: 16,
      errors: 3,
    }),
    growthRun(range, 'etcd-3.4', 1, {
      requests: 50,
      p50: 800,
      p99: 900,
      cpuSeconds: 5,
      bytes: 125e6,
    }),
    growthRun(range, 'kv-node', 1, {
      requests: 200,
      p50: 200,
      p99: 300,
      cpuSeconds: 6,
      bytes: 500e6,
    }),
  ];
  const table = growthTable([put3, put5, range], runs);

  it('sums the rounds for throughput and CPU per request, and averages their percentiles', () => {
    const row = rowOf(table, 'put-3');
    // 100,000 requests in 20 s against 100,000 in 20 s; rounds 1.2 and 0.8.
    expect(row.slice(1, 8)).toEqual([
      '5,000',
      '5,000',
      '**1.00** (1.20, 0.80)',
      '9.00 / 25.0',
      '11.0 / 32.0',
      '200 / 300',
      '-',
    ]);
    expect(row[8]).toBe('1.00 / 1.00');
  });

  it("gives each put case's throughput as a share of put-3's for the same system", () => {
    const row = rowOf(table, 'put-5');
    expect(row[3]).toBe('**0.75** (0.75)');
    expect(row[8]).toBe('0.60 / 0.80');
  });

  it('gives ranges their response bytes per second and keeps a decimal for slow rates', () => {
    const row = rowOf(table, 'range-10k');
    expect(row.slice(1, 4)).toEqual(['20.0', '5.0', '**4.00** (4.00)']);
    expect(row[7]).toBe('50.0 / 12.5');
    expect(row[8]).toBe('-');
  });

  it('notes the failed requests under the table', () => {
    expect(table).toContain('put-5: etcd had 3 failed requests.');
  });

  it('describes a case in words', () => {
    expect(describeCase(put5)).toBe('put @64, 5 members, 100 B, 10,000 keys');
    expect(describeCase({ ...put3, valueBytes: 4096 })).toBe(
      'put @64, 3 members, 4 KiB, 10,000 keys',
    );
    expect(describeCase(range)).toBe('range of all 10,000 keys (100 B) @4, 3 members');
  });
});
