import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  blockedLinks,
  describeFault,
  faultDurationMs,
  generateSchedule,
  largestMinority,
  membershipFaultKinds,
  safetyFaultKinds,
} from './nemesis-schedule.js';

describe('generateSchedule', () => {
  it('gives the same schedule for the same seed', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0x7fffffff }), fc.constantFrom(3, 5), (seed, nodes) => {
        const options = { seed, nodeCount: nodes, durationMs: 60_000 };
        expect(generateSchedule(options)).toEqual(generateSchedule(options));
      }),
      { numRuns: 100 },
    );
  });

  it('gives different schedules for different seeds', () => {
    const first = generateSchedule({ seed: 1, nodeCount: 3, durationMs: 60_000 });
    const second = generateSchedule({ seed: 2, nodeCount: 3, durationMs: 60_000 });
    expect(first.steps).not.toEqual(second.steps);
  });

  it('keeps faults apart, inside the run and within their bounds', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0x7fffffff }),
        fc.constantFrom(3, 5, 7),
        (seed, nodes) => {
          const schedule = generateSchedule({ seed, nodeCount: nodes, durationMs: 60_000 });
          expect(schedule.steps.length).toBeGreaterThan(3);
          let previousEnd = 0;
          for (const { atMs, fault } of schedule.steps) {
            expect(atMs).toBeGreaterThan(previousEnd);
            previousEnd = atMs + faultDurationMs(fault);
            expect(previousEnd).toBeLessThanOrEqual(60_000);
            if (fault.kind === 'pause') {
              expect(fault.durationMs).toBeGreaterThanOrEqual(1000);
              expect(fault.durationMs).toBeLessThanOrEqual(5000);
            }
            if (fault.kind === 'kill' && fault.nodes.kind === 'nodes') {
              // Never more than a minority down at once, so the cluster can make progress.
              expect(fault.nodes.indexes.length).toBeLessThanOrEqual(largestMinority(nodes));
            }
            if (fault.kind === 'partition' && fault.shape.kind === 'ring') {
              expect(nodes).toBeGreaterThanOrEqual(5);
            }
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it('draws only the kinds asked for', () => {
    const schedule = generateSchedule({
      seed: 9,
      nodeCount: 3,
      durationMs: 120_000,
      kinds: ['kill-leader'],
    });
    expect(schedule.steps.length).toBeGreaterThan(10);
    for (const { fault } of schedule.steps) {
      expect(fault).toMatchObject({ kind: 'kill', nodes: { kind: 'leader' } });
    }
  });

  it('covers every fault family over a few seeds', () => {
    const seen = new Set<string>();
    for (let seed = 0; seed < 20; seed++) {
      for (const { fault } of generateSchedule({ seed, nodeCount: 5, durationMs: 60_000 }).steps) {
        seen.add(fault.kind === 'partition' ? `partition:${fault.shape.kind}` : fault.kind);
      }
    }
    expect([...seen].sort()).toEqual([
      'clock-offset',
      'kill',
      'link-delay',
      'link-drop',
      'partition:isolate',
      'partition:one-way',
      'partition:ring',
      'pause',
      'stale-leader',
    ]);
  });

  it('draws the safety faults only when asked, within their bounds', () => {
    const seen = new Set<string>();
    for (let seed = 0; seed < 10; seed++) {
      const defaults = generateSchedule({ seed, nodeCount: 3, durationMs: 60_000 });
      for (const { fault } of defaults.steps) expect(safetyFaultKinds).not.toContain(fault.kind);
      const safety = generateSchedule({
        seed,
        nodeCount: 3,
        durationMs: 60_000,
        kinds: safetyFaultKinds,
      });
      for (const { fault } of safety.steps) {
        seen.add(fault.kind);
        switch (fault.kind) {
          case 'kill-all':
            expect(fault.downMs).toBeGreaterThanOrEqual(500);
            expect(fault.downMs).toBeLessThanOrEqual(2000);
            break;
          case 'disk-full':
            expect(fault.durationMs).toBeGreaterThanOrEqual(2000);
            break;
          case 'link-tamper':
            expect(fault.probability).toBeGreaterThan(0);
            expect(fault.probability).toBeLessThanOrEqual(0.5);
            break;
          default:
            throw new Error(`unexpected ${fault.kind}`);
        }
      }
    }
    expect([...seen].sort()).toEqual(['disk-full', 'kill-all', 'link-tamper']);
  });

  it('draws the membership faults only when asked; grow-shrink removes the leader sometimes', () => {
    const removeLeader = new Set<boolean>();
    const seen = new Set<string>();
    for (let seed = 0; seed < 10; seed++) {
      const defaults = generateSchedule({ seed, nodeCount: 5, durationMs: 60_000 });
      for (const { fault } of defaults.steps) {
        expect(membershipFaultKinds).not.toContain(fault.kind);
      }
      for (const nodeCount of [3, 5]) {
        const schedule = generateSchedule({
          seed,
          nodeCount,
          durationMs: 60_000,
          kinds: membershipFaultKinds,
        });
        for (const { fault } of schedule.steps) {
          seen.add(fault.kind);
          switch (fault.kind) {
            case 'replace-member':
              expect(fault.downMs).toBeGreaterThanOrEqual(500);
              expect(faultDurationMs(fault)).toBe(fault.downMs);
              if (fault.nodes.kind === 'nodes') expect(fault.nodes.indexes).toHaveLength(1);
              break;
            case 'grow-shrink':
              removeLeader.add(fault.removeLeader);
              expect(fault.holdMs).toBeGreaterThanOrEqual(1000);
              expect(faultDurationMs(fault)).toBe(fault.holdMs);
              break;
            default:
              throw new Error(`unexpected ${fault.kind}`);
          }
        }
      }
    }
    expect([...seen].sort()).toEqual(['grow-shrink', 'replace-member']);
    expect([...removeLeader].sort()).toEqual([false, true]);
    expect(
      describeFault({ kind: 'grow-shrink', removeLeader: true, holdMs: 2000 }, ['a', 'b', 'c']),
    ).toBe(
      'grow by 2: add new members one at a time as learners, catch up, promote; after 2000 ms shrink: remove a follower, then the leader one at a time, wipe their disks',
    );
  });

  it('draws exactly faultCount faults however long they take, ending the schedule there', () => {
    const schedule = generateSchedule({
      seed: 5,
      nodeCount: 3,
      durationMs: 1000,
      kinds: ['kill-leader'],
      faultCount: 25,
    });
    expect(schedule.steps).toHaveLength(25);
    const last = schedule.steps.at(-1);
    expect(last === undefined ? 0 : last.atMs + faultDurationMs(last.fault)).toBe(
      schedule.durationMs,
    );
    // Without a count, the same seed draws the same faults while they fit.
    const bounded = generateSchedule({
      seed: 5,
      nodeCount: 3,
      durationMs: schedule.durationMs,
      kinds: ['kill-leader'],
    });
    expect(bounded.steps).toEqual(schedule.steps);
    expect(() =>
      generateSchedule({ seed: 1, nodeCount: 3, durationMs: 1000, faultCount: 0 }),
    ).toThrow(RangeError);
  });

  it('rejects clusters too small to lose a node', () => {
    expect(() => generateSchedule({ seed: 1, nodeCount: 2, durationMs: 1000 })).toThrow(RangeError);
    expect(() => generateSchedule({ seed: 1, nodeCount: 3, durationMs: 1000, kinds: [] })).toThrow(
      RangeError,
    );
  });
});

describe('blockedLinks', () => {
  it('isolates a node both ways', () => {
    const links = blockedLinks({ kind: 'isolate', nodes: { kind: 'nodes', indexes: [1] } }, 3, 0);
    expect(links).toEqual([
      [0, 1],
      [1, 0],
      [1, 2],
      [2, 1],
    ]);
  });

  it('isolates the current leader', () => {
    expect(blockedLinks({ kind: 'isolate', nodes: { kind: 'leader' } }, 3, 2)).toEqual([
      [0, 2],
      [1, 2],
      [2, 0],
      [2, 1],
    ]);
    expect(blockedLinks({ kind: 'isolate', nodes: { kind: 'leader' } }, 3, undefined)).toEqual([]);
  });

  it('splits a minority from the majority', () => {
    const links = blockedLinks(
      { kind: 'isolate', nodes: { kind: 'nodes', indexes: [0, 3] } },
      5,
      undefined,
    );
    expect(links).toHaveLength(2 * 2 * 3);
  });

  it('blocks one direction only', () => {
    const shape = { kind: 'one-way', nodes: { kind: 'nodes', indexes: [0] } } as const;
    expect(blockedLinks({ ...shape, blocked: 'inbound' }, 3, undefined)).toEqual([
      [1, 0],
      [2, 0],
    ]);
    expect(blockedLinks({ ...shape, blocked: 'outbound' }, 3, undefined)).toEqual([
      [0, 1],
      [0, 2],
    ]);
  });

  it('leaves each node only its ring neighbours', () => {
    const links = blockedLinks({ kind: 'ring', order: [0, 1, 2, 3, 4] }, 5, undefined);
    const open = (from: number, to: number) =>
      !links.some(([left, right]) => left === from && right === to);
    expect(open(0, 1) && open(0, 4) && open(2, 3)).toBe(true);
    expect(open(0, 2) || open(1, 3) || open(4, 2)).toBe(false);
    expect(links).toHaveLength(10);
  });
});

describe('describeFault', () => {
  it('names nodes and durations', () => {
    const names = ['n1', 'n2', 'n3'];
    expect(describeFault({ kind: 'kill', nodes: { kind: 'leader' }, downMs: 1500 }, names)).toBe(
      'kill -9 the leader, restart after 1500 ms',
    );
    expect(
      describeFault(
        {
          kind: 'partition',
          shape: { kind: 'one-way', nodes: { kind: 'nodes', indexes: [2] }, blocked: 'inbound' },
          durationMs: 2000,
        },
        names,
      ),
    ).toBe('partition (one-way: n3 hears no one) for 2000 ms');
    expect(
      describeFault(
        {
          kind: 'clock-offset',
          nodes: { kind: 'nodes', indexes: [0] },
          offsetMs: -5000,
          rate: 2,
          durationMs: 4000,
        },
        names,
      ),
    ).toBe('clock of n1 off by -5000 ms running at x2 for 4000 ms');
    expect(
      describeFault({ kind: 'stale-leader', pauseMs: 5000, isolatedAfterWakeMs: 2500 }, names),
    ).toBe('SIGSTOP and cut off the leader for 5000 ms, heal 2500 ms after it wakes');
    expect(describeFault({ kind: 'kill-all', downMs: 800 }, names)).toBe(
      'kill -9 every member at once, restart all after 800 ms',
    );
    expect(
      describeFault(
        { kind: 'disk-full', nodes: { kind: 'nodes', indexes: [1] }, durationMs: 3000 },
        names,
      ),
    ).toBe('disk full on n2 for up to 3000 ms, then space and a restart');
    expect(
      describeFault(
        { kind: 'link-tamper', nodes: { kind: 'leader' }, probability: 0.25, durationMs: 3000 },
        names,
      ),
    ).toBe('tamper with 25% of chunks on links of the leader for 3000 ms');
  });

  it('gives a stale leader time to be replaced before it wakes, and time awake after', () => {
    const schedule = generateSchedule({
      seed: 3,
      nodeCount: 3,
      durationMs: 60_000,
      kinds: ['stale-leader'],
    });
    expect(schedule.steps.length).toBeGreaterThan(3);
    for (const { fault } of schedule.steps) {
      if (fault.kind !== 'stale-leader') throw new Error(`unexpected ${fault.kind}`);
      // Twice the default election timeout, so a new leader is elected while it sleeps.
      expect(fault.pauseMs).toBeGreaterThanOrEqual(4000);
      // Longer than a check-quorum period, so it acts as leader for a while after waking.
      expect(fault.isolatedAfterWakeMs).toBeGreaterThanOrEqual(2000);
      expect(faultDurationMs(fault)).toBe(fault.pauseMs + fault.isolatedAfterWakeMs);
    }
  });
});
