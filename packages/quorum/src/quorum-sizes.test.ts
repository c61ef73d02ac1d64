import { describe, expect, it } from 'vitest';
import type { QuorumConfigurationProblem } from './quorum-configuration-error.js';
import { validateQuorumSizes } from './quorum-sizes.js';

function problemOf(clusterSize: number, readQuorum: number, writeQuorum: number) {
  try {
    validateQuorumSizes({ clusterSize, readQuorum, writeQuorum });
    return undefined;
  } catch (error) {
    return (error as { problem: QuorumConfigurationProblem }).problem;
  }
}

describe('validateQuorumSizes', () => {
  it.each([
    [3, 2, 2],
    [3, 1, 3],
    [5, 3, 3],
    [5, 2, 4],
    [1, 1, 1],
  ])('accepts N=%i R=%i W=%i', (n, r, w) => {
    expect(problemOf(n, r, w)).toBeUndefined();
  });

  it.each([
    [0, 1, 1, 'invalid-cluster-size'],
    [3, 0, 2, 'invalid-quorum-size'],
    [3, 2, 4, 'invalid-quorum-size'],
    [3, 1.5, 2, 'invalid-quorum-size'],
    [3, 1, 2, 'reads-may-miss-writes'],
    [5, 2, 3, 'reads-may-miss-writes'],
    [4, 3, 2, 'writes-may-conflict'],
    [6, 4, 3, 'writes-may-conflict'],
  ])('refuses N=%i R=%s W=%i: %s', (n, r, w, problem) => {
    expect(problemOf(n, r, w)).toBe(problem);
  });

  it('names the values and the rule in its message', () => {
    expect(() => validateQuorumSizes({ clusterSize: 5, readQuorum: 2, writeQuorum: 3 })).toThrow(
      'read quorum 2 + write quorum 3 must exceed the cluster size 5, or a read may miss the latest write',
    );
    expect(() => validateQuorumSizes({ clusterSize: 4, readQuorum: 3, writeQuorum: 2 })).toThrow(
      /write quorum 2 must be more than half of the cluster size 4/,
    );
    expect(() => validateQuorumSizes({ clusterSize: 3, readQuorum: 4, writeQuorum: 2 })).toThrow(
      'read quorum must be an integer from 1 to 3, got 4',
    );
  });
});
