import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LamportClock } from './lamport-clock.js';

describe('LamportClock', () => {
  it('ticks by one from its initial time', () => {
    const clock = new LamportClock();
    expect(clock.current).toBe(0);
    expect(clock.tick()).toBe(1);
    expect(clock.tick()).toBe(2);
    expect(new LamportClock(41).tick()).toBe(42);
  });

  it('witnesses a remote time by moving past both', () => {
    const clock = new LamportClock(5);
    expect(clock.witness(9)).toBe(10);
    expect(clock.witness(3)).toBe(11);
    expect(clock.current).toBe(11);
  });

  it('refuses invalid times and leaves the clock unchanged', () => {
    expect(() => new LamportClock(-1)).toThrow(RangeError);
    expect(() => new LamportClock(1.5)).toThrow(RangeError);
    const clock = new LamportClock(3);
    for (const bad of [-1, 0.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      expect(() => clock.witness(bad)).toThrow(RangeError);
    }
    expect(clock.current).toBe(3);
  });

  it('throws instead of passing the largest safe integer', () => {
    const clock = new LamportClock(Number.MAX_SAFE_INTEGER - 1);
    expect(clock.tick()).toBe(Number.MAX_SAFE_INTEGER);
    expect(() => clock.tick()).toThrow(RangeError);
    expect(() => new LamportClock().witness(Number.MAX_SAFE_INTEGER)).toThrow(RangeError);
    expect(clock.current).toBe(Number.MAX_SAFE_INTEGER);
  });
});

/** One step of a run of message passing among `processes` processes. */
type Step =
  | { kind: 'local'; process: number }
  | { kind: 'send'; process: number; to: number }
  | { kind: 'receive'; process: number; pick: number };

const step = (processes: number): fc.Arbitrary<Step> =>
  fc.oneof(
    fc.record({ kind: fc.constant('local' as const), process: fc.nat(processes - 1) }),
    fc.record({
      kind: fc.constant('send' as const),
      process: fc.nat(processes - 1),
      to: fc.nat(processes - 1),
    }),
    fc.record({
      kind: fc.constant('receive' as const),
      process: fc.nat(processes - 1),
      pick: fc.nat(),
    }),
  );

describe('LamportClock properties', () => {
  it('strictly increases on every process, and every send is before its receive', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 2, max: 4 })
          .chain((processes) =>
            fc.tuple(fc.constant(processes), fc.array(step(processes), { maxLength: 200 })),
          ),
        ([processes, steps]) => {
          const clocks = Array.from({ length: processes }, () => new LamportClock());
          // Messages in flight to each process, delivered in any order.
          const inbox: number[][] = clocks.map(() => []);
          for (const s of steps) {
            const clock = clocks[s.process]!;
            const before = clock.current;
            let time: number;
            if (s.kind === 'local') time = clock.tick();
            else if (s.kind === 'send') {
              time = clock.tick();
              inbox[s.to]!.push(time);
            } else {
              const pending = inbox[s.process]!;
              if (pending.length === 0) continue;
              const [sent] = pending.splice(s.pick % pending.length, 1);
              time = clock.witness(sent!);
              expect(time).toBeGreaterThan(sent!);
            }
            expect(time).toBeGreaterThan(before);
            expect(clock.current).toBe(time);
          }
        },
      ),
    );
  });
});
