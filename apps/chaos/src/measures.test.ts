import { describe, expect, it } from 'vitest';
import {
  checkNoUnexpectedExit,
  checkStateHashes,
  checkWriteAfterHeal,
  stateHash,
} from './checks.js';
import type { FaultWindow } from './measures.js';
import {
  availability,
  failoverTimes,
  faultMeasures,
  majoritySideAvailability,
  percentile,
} from './measures.js';
import type { OperationSample } from './operation-sample.js';

const sample = (
  node: number,
  invokedAtMs: number,
  outcome: OperationSample['outcome'],
  kind: OperationSample['kind'] = 'write',
): OperationSample => ({ node, kind, invokedAtMs, completedAtMs: invokedAtMs + 10, outcome });

const window = (
  startMs: number,
  endMs: number,
  affectedNodes: number[],
  failoverMs?: number,
): FaultWindow => ({
  description: 'test',
  kind: 'partition',
  startMs,
  endMs,
  affectedNodes,
  leaderLost: failoverMs !== undefined,
  ...(failoverMs === undefined ? {} : { failoverMs }),
});

describe('measures', () => {
  const samples = [
    sample(0, 100, 'ok'),
    sample(1, 110, 'info'),
    sample(2, 120, 'ok', 'read'),
    sample(1, 130, 'fail'),
    sample(0, 300, 'ok'),
  ];

  it('computes availability over a time window and a node filter', () => {
    expect(availability(samples, 100, 200)).toEqual({ ok: 2, total: 4, ratio: 0.5 });
    expect(availability(samples, 100, 200, (node) => node !== 1)).toEqual({
      ok: 2,
      total: 2,
      ratio: 1,
    });
    expect(availability(samples, 500, 600).ratio).toBe(1);
  });

  it('measures each fault on all nodes and on the nodes it spared', () => {
    const [measure] = faultMeasures(samples, [window(100, 200, [1])]);
    expect(measure?.all.ratio).toBe(0.5);
    expect(measure?.unaffectedNodes.ratio).toBe(1);
    expect(faultMeasures(samples, [{ ...window(0, 1, []), skipped: 'no faketime' }])).toEqual([]);
  });

  it('collects the failover times of faults that took the leader away', () => {
    expect(failoverTimes([window(105, 200, [0], 850), window(0, 50, [0])])).toEqual([850]);
    expect(failoverTimes([{ ...window(0, 1, [], 900), skipped: 'no leader known' }])).toEqual([]);
  });

  it('picks the failovers of the fault kinds asked for', () => {
    const killed = { ...window(0, 50, [0], 700), kind: 'kill' };
    const paused = { ...window(100, 200, [0], 900), kind: 'pause' };
    expect(failoverTimes([killed, paused])).toEqual([700, 900]);
    expect(failoverTimes([killed, paused], ['kill'])).toEqual([700]);
  });

  it('sums majority-side availability over follower-minority partitions only', () => {
    const isolated = { ...window(100, 200, [1]), followerMinorityIsolated: true };
    expect(majoritySideAvailability(samples, [isolated, window(0, 1000, [])])).toEqual({
      ok: 2,
      total: 2,
      ratio: 1,
    });
    expect(majoritySideAvailability(samples, []).total).toBe(0);
  });

  it('takes nearest-rank percentiles', () => {
    expect(percentile([], 50)).toBeUndefined();
    expect(percentile([3, 1, 2, 4], 50)).toBe(2);
    expect(percentile([3, 1, 2, 4], 99)).toBe(4);
    expect(percentile([5], 0)).toBe(5);
  });
});

describe('convergence checks', () => {
  it('fails a run in which a member exited by itself', () => {
    expect(checkNoUnexpectedExit([]).passed).toBe(true);
    const report = checkNoUnexpectedExit([{ node: 'node-b', code: 1, signal: null }]);
    expect(report.passed).toBe(false);
    expect(report.detail).toContain('node-b (code 1, signal null)');
  });

  it('hashes state independently of order and compares nodes', () => {
    const a = { key: 'a', value: '1', modRevision: 2 };
    const b = { key: 'b', value: '2', modRevision: 3 };
    expect(stateHash([a, b])).toBe(stateHash([b, a]));
    expect(stateHash([a])).not.toBe(stateHash([a, b]));
    expect(
      checkStateHashes(
        new Map([
          ['n1', 'x'],
          ['n2', 'x'],
        ]),
      ).passed,
    ).toBe(true);
    expect(
      checkStateHashes(
        new Map([
          ['n1', 'x'],
          ['n2', 'y'],
        ]),
      ).passed,
    ).toBe(false);
    expect(
      checkStateHashes(
        new Map<string, string | Error>([
          ['n1', 'x'],
          ['n2', new Error('down')],
        ]),
      ).passed,
    ).toBe(false);
  });

  it('requires a write within the limit after the heal', () => {
    expect(checkWriteAfterHeal(1200).passed).toBe(true);
    expect(checkWriteAfterHeal(5200).passed).toBe(false);
    expect(checkWriteAfterHeal(undefined).passed).toBe(false);
  });
});
