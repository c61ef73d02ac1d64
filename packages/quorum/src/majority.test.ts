import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { majority, toleratedFailures } from './majority.js';
import { QuorumConfigurationError } from './quorum-configuration-error.js';

describe('majority and tolerated failures', () => {
  it.each([
    [1, 1, 0],
    [2, 2, 0],
    [3, 2, 1],
    [4, 3, 1],
    [5, 3, 2],
    [6, 4, 2],
    [7, 4, 3],
  ])('a cluster of %i needs %i and tolerates %i failures', (size, needed, tolerated) => {
    expect(majority(size)).toBe(needed);
    expect(toleratedFailures(size)).toBe(tolerated);
  });

  it.each([0, -1, 2.5, Number.NaN, Number.POSITIVE_INFINITY])('refuses cluster size %s', (size) => {
    expect(() => majority(size)).toThrow(QuorumConfigurationError);
    expect(() => toleratedFailures(size)).toThrow(RangeError);
    try {
      majority(size);
    } catch (error) {
      expect(error).toMatchObject({
        problem: 'invalid-cluster-size',
        name: 'QuorumConfigurationError',
      });
    }
  });

  it('any two majorities of a cluster share a server', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 9 })
          .chain((size) =>
            fc.tuple(
              fc.constant(size),
              fc.shuffledSubarray([...Array(size).keys()], { minLength: majority(size) }),
              fc.shuffledSubarray([...Array(size).keys()], { minLength: majority(size) }),
            ),
          ),
        ([, first, second]) => {
          expect(first.some((server) => second.includes(server))).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });
});
