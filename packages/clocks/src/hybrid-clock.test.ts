import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ClockOffsetError } from './errors.js';
import { HybridClock } from './hybrid-clock.js';
import {
  MAX_HYBRID_LOGICAL,
  compareHybrid,
  hybridTimestamp,
  type HybridTimestamp,
} from './hybrid-timestamp.js';
import { VersionVector } from './version-vector.js';

/** A wall clock the test sets by hand: it can jump in both directions. */
class FakeWallClock {
  constructor(public ms: number) {}
  now(): number {
    return this.ms;
  }
}

const at = (wallMs: number, logical: number): HybridTimestamp => hybridTimestamp(wallMs, logical);

describe('HybridClock', () => {
  it('follows the wall clock while it advances, with counter 0', () => {
    const wall = new FakeWallClock(1000);
    const clock = new HybridClock(wall, { maxOffsetMs: 500 });
    expect(clock.tick()).toEqual(at(1000, 0));
    wall.ms = 1005;
    expect(clock.tick()).toEqual(at(1005, 0));
  });

  it('counts events within one millisecond', () => {
    const clock = new HybridClock(new FakeWallClock(1000), { maxOffsetMs: 500 });
    expect([clock.tick(), clock.tick(), clock.tick()]).toEqual([
      at(1000, 0),
      at(1000, 1),
      at(1000, 2),
    ]);
  });

  it('never goes backwards when the wall clock does', () => {
    const wall = new FakeWallClock(10_000);
    const clock = new HybridClock(wall, { maxOffsetMs: 500 });
    clock.tick();
    wall.ms = 4_000; // NTP steps the clock back six seconds
    expect(clock.tick()).toEqual(at(10_000, 1));
    expect(clock.tick()).toEqual(at(10_000, 2));
    wall.ms = 10_001; // real time catches up: the counter resets
    expect(clock.tick()).toEqual(at(10_001, 0));
  });

  it('witnesses a remote timestamp ahead of it (within the offset) by moving past it', () => {
    const wall = new FakeWallClock(1000);
    const clock = new HybridClock(wall, { maxOffsetMs: 500 });
    clock.tick();
    expect(clock.witness(at(1200, 7))).toEqual(at(1200, 8));
    // Its own wall clock is still behind: local events count on from the remote time.
    expect(clock.tick()).toEqual(at(1200, 9));
  });

  it('witnesses a remote timestamp behind it without losing its own time', () => {
    const wall = new FakeWallClock(1000);
    const clock = new HybridClock(wall, { maxOffsetMs: 500 });
    clock.tick();
    clock.tick(); // (1000, 1)
    expect(clock.witness(at(1000, 5))).toEqual(at(1000, 6));
    expect(clock.witness(at(900, 50))).toEqual(at(1000, 7));
    wall.ms = 1001;
    expect(clock.witness(at(1000, 99))).toEqual(at(1001, 0));
  });

  it('refuses a remote timestamp beyond the maximum offset, unchanged, with the values', () => {
    const wall = new FakeWallClock(1000);
    const clock = new HybridClock(wall, { maxOffsetMs: 500 });
    const before = clock.tick();
    expect(clock.witness(at(1500, 0))).toEqual(at(1500, 1)); // exactly the offset: accepted
    const after = clock.current;
    let refused: unknown;
    try {
      clock.witness(at(3_601_000, 0)); // an hour ahead
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(ClockOffsetError);
    const error = refused as ClockOffsetError;
    expect(error.remote).toEqual(at(3_601_000, 0));
    expect(error.local).toEqual(after);
    expect(error.physicalNowMs).toBe(1000);
    expect(error.maxOffsetMs).toBe(500);
    expect(error.offsetMs).toBe(3_600_000);
    expect(error.message).toContain('3600000 ms ahead');
    expect(clock.current).toEqual(after);
    expect(compareHybrid(after, before)).toBeGreaterThan(0);
  });

  it('starts above an initial timestamp', () => {
    const clock = new HybridClock(new FakeWallClock(10), {
      maxOffsetMs: 0,
      initial: at(5000, 3),
    });
    expect(clock.current).toEqual(at(5000, 3));
    expect(clock.tick()).toEqual(at(5000, 4));
  });

  it('moves to the next millisecond when the counter is full', () => {
    const clock = new HybridClock(new FakeWallClock(10), {
      maxOffsetMs: 0,
      initial: at(10, MAX_HYBRID_LOGICAL - 1),
    });
    expect(clock.tick()).toEqual(at(10, MAX_HYBRID_LOGICAL));
    expect(clock.tick()).toEqual(at(11, 0));
  });

  it('floors a sub-millisecond wall clock', () => {
    const clock = new HybridClock(new FakeWallClock(1000.9), { maxOffsetMs: 0 });
    expect(clock.tick()).toEqual(at(1000, 0));
  });

  it('refuses bad options, bad remote timestamps and bad wall-clock readings', () => {
    const wall = new FakeWallClock(1000);
    expect(() => new HybridClock(wall, { maxOffsetMs: -1 })).toThrow(RangeError);
    expect(() => new HybridClock(wall, { maxOffsetMs: Number.NaN })).toThrow(RangeError);
    expect(
      () => new HybridClock(wall, { maxOffsetMs: 1, initial: { wallMs: -1, logical: 0 } }),
    ).toThrow(RangeError);
    const clock = new HybridClock(wall, { maxOffsetMs: 500 });
    const before = clock.tick();
    expect(() => clock.witness({ wallMs: 1.5, logical: 0 })).toThrow(RangeError);
    expect(() => clock.witness({ wallMs: 1, logical: -1 })).toThrow(RangeError);
    expect(() => clock.witness({ wallMs: 1, logical: 2 ** 32 })).toThrow(RangeError);
    for (const reading of [Number.NaN, -5, Number.POSITIVE_INFINITY, 2 ** 48]) {
      wall.ms = reading;
      expect(() => clock.tick()).toThrow(RangeError);
      expect(() => clock.witness(at(0, 0))).toThrow(RangeError);
    }
    expect(clock.current).toEqual(before);
  });
});

// Property tests: several nodes, each with a wall clock that drifts and jumps (backwards too),
// exchanging messages delivered in any order.

type Step =
  | { kind: 'wall'; node: number; deltaMs: number }
  | { kind: 'local'; node: number }
  | { kind: 'send'; node: number; to: number }
  | { kind: 'receive'; node: number; pick: number };

const NODES = 3;
const node = fc.nat(NODES - 1);
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constant('wall' as const),
    node,
    // Mostly small advances, sometimes big jumps in either direction.
    deltaMs: fc.oneof(fc.integer({ min: 0, max: 20 }), fc.integer({ min: -100_000, max: 100_000 })),
  }),
  fc.record({ kind: fc.constant('local' as const), node }),
  fc.record({ kind: fc.constant('send' as const), node, to: node }),
  fc.record({ kind: fc.constant('receive' as const), node, pick: fc.nat() }),
);

interface Event {
  timestamp: HybridTimestamp;
  /** The event's causal history, as the ground truth of happened-before. */
  history: VersionVector;
}

interface Message {
  timestamp: HybridTimestamp;
  history: VersionVector;
}

function simulate(steps: Step[], maxOffsetMs: number, startMs: number) {
  const walls = Array.from({ length: NODES }, () => new FakeWallClock(startMs));
  const clocks = walls.map((wall) => new HybridClock(wall, { maxOffsetMs }));
  const histories = clocks.map(() => VersionVector.empty);
  const inbox: Message[][] = clocks.map(() => []);
  const events: Event[] = [];
  /** Per node: the highest wall-clock reading ever taken, for the drift bound. */
  const highestReading = walls.map((wall) => wall.ms);
  let refusals = 0;
  for (const s of steps) {
    const clock = clocks[s.node]!;
    const wall = walls[s.node]!;
    if (s.kind === 'wall') {
      wall.ms = Math.max(0, wall.ms + s.deltaMs);
      continue;
    }
    highestReading[s.node] = Math.max(highestReading[s.node]!, wall.ms);
    const before = clock.current;
    let timestamp: HybridTimestamp;
    const id = `n${s.node}`;
    if (s.kind === 'receive') {
      const pending = inbox[s.node]!;
      if (pending.length === 0) continue;
      const [message] = pending.splice(s.pick % pending.length, 1);
      if (message!.timestamp.wallMs - wall.ms > maxOffsetMs) {
        expect(() => clock.witness(message!.timestamp)).toThrow(ClockOffsetError);
        expect(clock.current).toEqual(before); // refusal leaves the clock unchanged
        refusals += 1;
        continue;
      }
      timestamp = clock.witness(message!.timestamp);
      expect(compareHybrid(timestamp, message!.timestamp)).toBeGreaterThan(0);
      histories[s.node] = histories[s.node]!.merge(message!.history).increment(id);
    } else {
      timestamp = clock.tick();
      histories[s.node] = histories[s.node]!.increment(id);
      if (s.kind === 'send') inbox[s.to]!.push({ timestamp, history: histories[s.node]! });
    }
    // Strictly increasing on each node, whatever the wall clock did.
    expect(compareHybrid(timestamp, before)).toBeGreaterThan(0);
    // Drift is bounded: never further ahead of the highest local reading than the offset.
    expect(timestamp.wallMs).toBeLessThanOrEqual(highestReading[s.node]! + maxOffsetMs);
    events.push({ timestamp, history: histories[s.node]! });
  }
  return { events, refusals };
}

describe('HybridClock properties', () => {
  const run = fc.record({
    // size 'max': fast-check's default size keeps arrays to about ten steps, too few for a clock
    // to run ahead and a peer to refuse its message in most runs (the coverage check below then
    // failed about one run in six).
    steps: fc.array(step, { maxLength: 150, size: 'max' }),
    maxOffsetMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 1000 })),
    startMs: fc.integer({ min: 0, max: 2 ** 41 }),
  });

  it('strictly increases on every node and orders every happened-before pair', () => {
    const seen = { refusals: 0, causalPairs: 0, concurrentPairs: 0 };
    fc.assert(
      fc.property(run, ({ steps, maxOffsetMs, startMs }) => {
        const { events, refusals } = simulate(steps, maxOffsetMs, startMs);
        seen.refusals += refusals;
        for (const a of events) {
          for (const b of events) {
            const order = a.history.compare(b.history);
            if (order === 'before') {
              expect(compareHybrid(a.timestamp, b.timestamp)).toBeLessThan(0);
              // A pair ordered through a message, not only by one node's own sequence.
              if (a.history.size > 1 || b.history.size > 1) seen.causalPairs += 1;
            } else if (order === 'concurrent') seen.concurrentPairs += 1;
          }
        }
      }),
    );
    // The runs must have exercised what the property is about, or it proves nothing.
    expect(seen.refusals).toBeGreaterThan(0);
    expect(seen.causalPairs).toBeGreaterThan(0);
    expect(seen.concurrentPairs).toBeGreaterThan(0);
  });

  it('keeps the logical counter bounded by the events since the wall clock last advanced', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 5 })), { maxLength: 300 }),
        (advances) => {
          const wall = new FakeWallClock(1_000);
          const clock = new HybridClock(wall, { maxOffsetMs: 0 });
          let sinceAdvance = 0;
          for (const advanceMs of advances) {
            wall.ms += advanceMs;
            sinceAdvance = advanceMs > 0 ? 0 : sinceAdvance + 1;
            const { wallMs, logical } = clock.tick();
            expect(wallMs).toBe(wall.ms);
            expect(logical).toBeLessThanOrEqual(sinceAdvance);
          }
        },
      ),
    );
  });

  it('resets the counter whenever the wall clock passes the latest timestamp', () => {
    fc.assert(
      fc.property(
        fc.array(step, { maxLength: 100 }),
        fc.integer({ min: 1, max: 1000 }),
        (steps, aheadMs) => {
          const wall = new FakeWallClock(1_000_000);
          const clock = new HybridClock(wall, { maxOffsetMs: 1000 });
          for (const s of steps) {
            if (s.kind === 'wall') wall.ms = Math.max(0, wall.ms + s.deltaMs);
            else if (s.kind === 'receive') {
              try {
                clock.witness(at(wall.ms + (s.pick % 1000), s.pick % 50));
              } catch (error) {
                expect(error).toBeInstanceOf(ClockOffsetError);
              }
            } else clock.tick();
          }
          wall.ms = clock.current.wallMs + aheadMs;
          expect(clock.tick()).toEqual(at(wall.ms, 0));
        },
      ),
    );
  });

  it('refuses exactly the remote timestamps beyond the offset, leaving the clock unchanged', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 40 }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: -20_000, max: 20_000 }),
        fc.nat(MAX_HYBRID_LOGICAL),
        fc.nat(3),
        (physicalMs, maxOffsetMs, remoteOffsetMs, remoteLogical, localTicks) => {
          const wall = new FakeWallClock(physicalMs);
          const clock = new HybridClock(wall, { maxOffsetMs });
          for (let i = 0; i < localTicks; i += 1) clock.tick();
          const before = clock.current;
          const remote = at(Math.max(0, physicalMs + remoteOffsetMs), remoteLogical);
          if (remote.wallMs - physicalMs > maxOffsetMs) {
            expect(() => clock.witness(remote)).toThrow(ClockOffsetError);
            expect(clock.current).toEqual(before);
            expect(clock.current).toBe(before);
          } else {
            const after = clock.witness(remote);
            expect(compareHybrid(after, remote)).toBeGreaterThan(0);
            expect(compareHybrid(after, before)).toBeGreaterThan(0);
          }
        },
      ),
    );
  });
});
