import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fuzzedBytes } from '../../../tools/fuzz/byte-mutations.js';
import { fuzzRuns, fuzzTimeoutMs } from '../../../tools/fuzz/fuzz-runs.js';
import {
  changedConfiguration,
  clusterConfiguration,
  ConfigurationError,
  decodeConfiguration,
  encodeConfiguration,
  MAX_CONFIGURATION_MEMBERS,
} from './cluster-configuration.js';
import { ConfigurationHistory } from './configuration-history.js';
import { ReplicatedLog } from './replicated-log.js';

const problemOf = (run: () => unknown): string | undefined => {
  try {
    run();
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return (error as ConfigurationError).problem;
  }
};

describe('ClusterConfiguration', () => {
  it('validates: a voter, no member twice, ids of 1-255 bytes, a bounded member count', () => {
    expect(clusterConfiguration(['a', 'b'], ['c'])).toEqual({
      voters: ['a', 'b'],
      learners: ['c'],
    });
    expect(problemOf(() => clusterConfiguration([], ['c']))).toBe('no-voter');
    expect(problemOf(() => clusterConfiguration(['a', 'a']))).toBe('duplicate-member');
    expect(problemOf(() => clusterConfiguration(['a'], ['a']))).toBe('duplicate-member');
    expect(problemOf(() => clusterConfiguration(['']))).toBe('bad-member-id');
    expect(problemOf(() => clusterConfiguration(['x'.repeat(256)]))).toBe('bad-member-id');
    const many = Array.from({ length: MAX_CONFIGURATION_MEMBERS + 1 }, (_, i) => `n${i}`);
    expect(problemOf(() => clusterConfiguration(many))).toBe('too-many-members');
  });

  it('applies one single-server change at a time, and refuses the ones that do not apply', () => {
    const start = clusterConfiguration(['a', 'b', 'c']);
    const withLearner = changedConfiguration(start, { kind: 'add-learner', member: 'd' });
    expect(withLearner).toEqual({ voters: ['a', 'b', 'c'], learners: ['d'] });
    const promoted = changedConfiguration(withLearner, { kind: 'promote', member: 'd' });
    expect(promoted).toEqual({ voters: ['a', 'b', 'c', 'd'], learners: [] });
    const removed = changedConfiguration(promoted, { kind: 'remove', member: 'a' });
    expect(removed).toEqual({ voters: ['b', 'c', 'd'], learners: [] });
    expect(problemOf(() => changedConfiguration(start, { kind: 'add-learner', member: 'a' }))).toBe(
      'already-member',
    );
    expect(problemOf(() => changedConfiguration(start, { kind: 'promote', member: 'a' }))).toBe(
      'not-a-learner',
    );
    expect(problemOf(() => changedConfiguration(start, { kind: 'remove', member: 'z' }))).toBe(
      'not-a-member',
    );
    const single = clusterConfiguration(['a'], ['b']);
    expect(problemOf(() => changedConfiguration(single, { kind: 'remove', member: 'a' }))).toBe(
      'no-voter',
    );
  });

  it('round-trips through its encoding', () => {
    const configuration = clusterConfiguration(['athens', 'byzantium'], ['cyrene', 'δελφοί']);
    expect(decodeConfiguration(encodeConfiguration(configuration))).toEqual(configuration);
  });

  const runs = fuzzRuns(300);
  it(
    'decodes mutated or random bytes to a valid configuration or throws ConfigurationError',
    () => {
      const valid = fc
        .uniqueArray(fc.string({ minLength: 1, maxLength: 10 }), { minLength: 1, maxLength: 8 })
        .chain((ids) =>
          fc
            .integer({ min: 1, max: ids.length })
            .map((voters) => clusterConfiguration(ids.slice(0, voters), ids.slice(voters))),
        );
      const input = fc.oneof(
        fuzzedBytes(valid.map(encodeConfiguration)),
        fc.uint8Array({ maxLength: 64 }),
      );
      fc.assert(
        fc.property(input, (bytes) => {
          let decoded;
          try {
            decoded = decodeConfiguration(bytes);
          } catch (error) {
            expect(error).toBeInstanceOf(ConfigurationError);
            return;
          }
          // A decoded configuration is valid and canonical.
          expect(decoded.voters.length).toBeGreaterThan(0);
          expect(encodeConfiguration(decoded)).toEqual(bytes);
        }),
        { numRuns: runs },
      );
    },
    fuzzTimeoutMs(runs),
  );
});

describe('ConfigurationHistory (kept by the log)', () => {
  const initial = clusterConfiguration(['a', 'b', 'c']);
  const withD = clusterConfiguration(['a', 'b', 'c'], ['d']);
  const withoutC = clusterConfiguration(['a', 'b'], ['d']);
  const configurationEntry = (index: number, configuration = withD) => ({
    index,
    generation: 1,
    kind: 'configuration' as const,
    command: encodeConfiguration(configuration),
  });
  const command = (index: number) => ({
    index,
    generation: 1,
    kind: 'command' as const,
    command: new Uint8Array([index]),
  });

  it('puts the latest appended entry in force, committed or not, and forgets a truncated one', () => {
    const log = new ReplicatedLog(0, 0, [command(1)], initial);
    expect(log.configurations.inForce).toBe(initial);
    log.append(configurationEntry(2));
    expect(log.configurations.inForce).toEqual(withD);
    log.append(command(3));
    log.append(configurationEntry(4, withoutC));
    expect(log.configurations.inForce).toEqual(withoutC);
    expect(log.configurations.at(3)).toEqual(withD);
    expect(log.configurations.countAbove(2)).toBe(1);
    log.truncateAfter(3);
    expect(log.configurations.inForce).toEqual(withD);
    log.truncateAfter(1);
    expect(log.configurations.inForce).toBe(initial);
    expect(log.configurations.latestEntryIndex).toBe(0);
  });

  it("keeps a compacted configuration as the base, and takes a snapshot's on reset", () => {
    const log = new ReplicatedLog(0, 0, [command(1), configurationEntry(2), command(3)], initial);
    log.compactThrough(3);
    expect(log.configurations.inForce).toEqual(withD);
    expect(log.configurations.latestEntryIndex).toBe(0);
    log.resetTo(10, 2, withoutC);
    expect(log.configurations.inForce).toEqual(withoutC);
    const history = new ConfigurationHistory(initial);
    history.reset(undefined);
    expect(history.inForce).toBe(initial);
  });
});
