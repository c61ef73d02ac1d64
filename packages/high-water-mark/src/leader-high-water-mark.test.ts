import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LeaderHighWaterMark } from './leader-high-water-mark.js';

const peers = ['s1', 's2', 's3', 's4', 's5', 's6', 's7'];

function tracker(size: number, generations: readonly number[], generation: number, mark = 0) {
  return new LeaderHighWaterMark({
    leader: 's1',
    followers: peers.slice(1, size),
    generation,
    // generations[i - 1] is the generation of index i.
    generationOf: (index) => generations[index - 1] ?? Number.NaN,
    highWaterMark: mark,
  });
}

describe('LeaderHighWaterMark', () => {
  it('commits on the leader alone in a cluster of one', () => {
    const single = tracker(1, [1, 1, 1], 1);
    expect(single.quorum).toBe(1);
    expect(single.recordMatchIndex('s1', 2)).toBe(2);
    expect(single.recordMatchIndex('s1', 3)).toBe(3);
  });

  it('counts the leader as one replica of three', () => {
    const three = tracker(3, [1, 1, 1, 1], 1);
    expect(three.recordMatchIndex('s2', 4)).toBe(0);
    expect(three.recordMatchIndex('s1', 3)).toBe(3);
    expect(three.recordMatchIndex('s3', 4)).toBe(4);
    expect(three.matchIndexOf('s1')).toBe(3);
  });

  it('ignores an acknowledgement lower than one already recorded', () => {
    const five = tracker(5, [1, 1, 1, 1, 1], 1);
    five.recordMatchIndex('s1', 5);
    five.recordMatchIndex('s2', 5);
    expect(five.recordMatchIndex('s3', 5)).toBe(5);
    expect(five.recordMatchIndex('s3', 2)).toBe(5);
    expect(five.matchIndexOf('s3')).toBe(5);
  });

  it('never goes below the mark it started from', () => {
    const resumed = tracker(3, [1, 1, 2, 2, 2], 2, 4);
    expect(resumed.highWaterMark).toBe(4);
    resumed.recordMatchIndex('s1', 3);
    expect(resumed.recordMatchIndex('s2', 3)).toBe(4);
    resumed.recordMatchIndex('s1', 5);
    expect(resumed.recordMatchIndex('s3', 5)).toBe(5);
  });

  it('rejects unknown members, duplicate members and invalid indexes', () => {
    const three = tracker(3, [1], 1);
    expect(() => three.recordMatchIndex('s9', 1)).toThrow(/unknown member s9/);
    expect(() => three.matchIndexOf('s9')).toThrow(/unknown member/);
    expect(() => three.recordMatchIndex('s2', -1)).toThrow(RangeError);
    expect(() => three.recordMatchIndex('s2', 1.5)).toThrow(RangeError);
    expect(() => three.recordMatchIndex('s2', Number.NaN)).toThrow(RangeError);
    expect(
      () =>
        new LeaderHighWaterMark({
          leader: 'a',
          followers: ['b', 'a'],
          generation: 1,
          generationOf: () => 1,
        }),
    ).toThrow(/listed twice/);
    expect(() => tracker(3, [], -1)).toThrow(RangeError);
    expect(() => tracker(3, [], 1, 0.5)).toThrow(RangeError);
  });

  // Figure 8 of the Raft paper (Ongaro and Ousterhout, 2014), with generations for terms. s1 led in
  // generation 2 and stored index 2 on s2 only; s5 led in generation 3 and wrote its own index 2;
  // now s1 leads again in generation 4 and copies its old index 2 to s3. Index 2 is on a majority,
  // but if it were committed and s1 crashed, s5 could still win an election (votes of s2, s3, s4:
  // its last entry has generation 3 > 2) and overwrite it. So it must not be committed by counting.
  it('figure 8: an old-generation entry on a majority is not committed by itself', () => {
    const logOfS1 = [1, 2];
    const s1 = new LeaderHighWaterMark({
      leader: 's1',
      followers: ['s2', 's3', 's4', 's5'],
      generation: 4,
      generationOf: (index) => logOfS1[index - 1]!,
      highWaterMark: 1,
    });
    s1.recordMatchIndex('s1', 2);
    s1.recordMatchIndex('s2', 2);
    expect(s1.recordMatchIndex('s3', 2)).toBe(1);

    // Once an entry of generation 4 is on a majority, it commits, and index 2 with it.
    logOfS1.push(4);
    s1.recordMatchIndex('s1', 3);
    s1.recordMatchIndex('s2', 3);
    expect(s1.highWaterMark).toBe(1);
    expect(s1.recordMatchIndex('s3', 3)).toBe(3);
  });

  describe('equals a brute force and never regresses, for clusters of 1 to 7', () => {
    // The definition, computed the slow way: the largest index N of the current generation that at
    // least a majority of members store (their highest acknowledgement is >= N).
    function bruteForce(
      highest: readonly number[],
      generationOf: (index: number) => number,
      generation: number,
      initialMark: number,
    ): number {
      const majority = Math.floor(highest.length / 2) + 1;
      let mark = initialMark;
      for (let index = 1; index <= Math.max(0, ...highest); index++) {
        const holders = highest.filter((value) => value >= index).length;
        if (holders >= majority && generationOf(index) === generation && index > mark) {
          mark = index;
        }
      }
      return mark;
    }

    const scenario = fc
      .record({
        size: fc.integer({ min: 1, max: 7 }),
        // Non-decreasing generations along the log, the last ones possibly of the current generation.
        steps: fc.array(fc.integer({ min: 0, max: 1 }), { maxLength: 24 }),
        generation: fc.integer({ min: 1, max: 4 }),
        initialMark: fc.integer({ min: 0, max: 6 }),
      })
      .chain(({ size, steps, generation, initialMark }) => {
        const generations: number[] = [];
        let current = 1;
        for (const step of steps) {
          current = Math.min(generation, current + step);
          generations.push(current);
        }
        const acks = fc.array(
          fc.tuple(
            fc.integer({ min: 0, max: size - 1 }),
            fc.integer({ min: 0, max: steps.length }),
          ),
          { maxLength: 40 },
        );
        return fc.record({
          size: fc.constant(size),
          generations: fc.constant(generations),
          generation: fc.constant(generation),
          initialMark: fc.constant(Math.min(initialMark, generations.length)),
          acks,
        });
      });

    it('for random acknowledgement orders', () => {
      fc.assert(
        fc.property(scenario, ({ size, generations, generation, initialMark, acks }) => {
          const generationOf = (index: number) => generations[index - 1]!;
          const subject = tracker(size, generations, generation, initialMark);
          const highest = new Array<number>(size).fill(0);
          let previous = subject.highWaterMark;
          for (const [member, index] of acks) {
            highest[member] = Math.max(highest[member]!, index);
            const mark = subject.recordMatchIndex(peers[member]!, index);
            expect(mark).toBe(bruteForce(highest, generationOf, generation, initialMark));
            expect(mark).toBe(subject.highWaterMark);
            expect(mark).toBeGreaterThanOrEqual(previous);
            previous = mark;
          }
        }),
        { numRuns: 1000 },
      );
    });
  });
});
