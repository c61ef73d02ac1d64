import { describe, expect, it } from 'vitest';
import type { LeaderElection } from './leader-elections.js';
import { countFalseSuspicions, parseLeaderElections } from './leader-elections.js';
import type { FaultWindow } from './measures.js';

const fault = (startMs: number, leaderLost: boolean, extra: Partial<FaultWindow> = {}) =>
  ({
    description: `fault at ${startMs}`,
    kind: 'kill',
    startMs,
    endMs: startMs + 2000,
    affectedNodes: [0],
    leaderLost,
    ...extra,
  }) satisfies FaultWindow;

const elected = (atMs: number, generation: number, node = 'node-b'): LeaderElection => ({
  node,
  generation,
  atMs,
});

describe('parseLeaderElections', () => {
  it('reads the winner lines of a pino log on the runner clock, skipping everything else', () => {
    const log = [
      '=== chaos: starting node-a',
      JSON.stringify({ level: 30, time: 10_500, msg: 'leader elected', generation: 2 }),
      JSON.stringify({ level: 30, time: 10_600, msg: 'leader changed', generation: 3 }),
      '{"level":30,"msg":"leader elected", truncated',
      JSON.stringify({ level: 30, time: 14_000, msg: 'leader elected', generation: 4 }),
      'Error: a crash trace mentioning "leader elected"',
    ].join('\n');
    expect(parseLeaderElections(log, 'node-a', 10_000)).toEqual([
      { node: 'node-a', generation: 2, atMs: 500 },
      { node: 'node-a', generation: 4, atMs: 4000 },
    ]);
  });

  it('reads the ISO 8601 times kv-node writes in etcd style', () => {
    const start = Date.parse('2026-01-02T03:04:00.000Z');
    const log = JSON.stringify({
      level: 'info',
      time: '2026-01-02T03:04:05.678Z',
      msg: 'leader elected',
      generation: 7,
    });
    expect(parseLeaderElections(log, 'node-c', start)).toEqual([
      { node: 'node-c', generation: 7, atMs: 5678 },
    ]);
  });
});

describe('countFalseSuspicions', () => {
  it('explains the first election after each fault that took the leader away', () => {
    const count = countFalseSuspicions(
      [elected(-2000, 1, 'node-a'), elected(4500, 2), elected(12_000, 3, 'node-c')],
      [fault(3000, true), fault(10_000, true)],
    );
    expect(count).toEqual({ elections: 2, explained: 2, falseSuspicions: 0, unexplained: [] });
  });

  it('counts elections without a lost leader as false suspicions', () => {
    const beforeAnyFault = elected(1000, 2);
    const secondAfterOneKill = elected(6000, 4, 'node-c');
    const afterFollowerFault = elected(11_000, 5);
    const count = countFalseSuspicions(
      [beforeAnyFault, elected(4000, 3), secondAfterOneKill, afterFollowerFault],
      [fault(3000, true), fault(10_000, false)],
    );
    expect(count.explained).toBe(1);
    expect(count.falseSuspicions).toBe(3);
    expect(count.unexplained).toEqual([beforeAnyFault, secondAfterOneKill, afterFollowerFault]);
  });

  it('counts a generation once however many lines name it, and ignores skipped faults', () => {
    const count = countFalseSuspicions(
      [elected(4000, 2), elected(4001, 2), elected(8000, 3)],
      [fault(3000, true), fault(7000, true, { skipped: 'no leader known' })],
    );
    expect(count).toMatchObject({ elections: 2, explained: 1, falseSuspicions: 1 });
  });
});
