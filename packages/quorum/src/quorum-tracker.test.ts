import { describe, expect, it } from 'vitest';
import { QuorumConfigurationError } from './quorum-configuration-error.js';
import { QuorumTracker } from './quorum-tracker.js';

describe('QuorumTracker', () => {
  it('reports the highest value a majority acknowledged', () => {
    const tracker = new QuorumTracker(['a', 'b', 'c', 'd', 'e']);
    expect(tracker.needed).toBe(3);
    expect(tracker.quorumValue()).toBe(0);
    tracker.record('a', 9);
    tracker.record('b', 4);
    expect(tracker.quorumValue()).toBe(0);
    tracker.record('c', 6);
    expect(tracker.quorumValue()).toBe(4);
    expect(tracker.hasQuorum(4)).toBe(true);
    expect(tracker.hasQuorum(5)).toBe(false);
    tracker.record('d', 7);
    expect(tracker.quorumValue()).toBe(6);
  });

  it('only raises a voter, ignores non-voters, and forgets a voter on reset', () => {
    const tracker = new QuorumTracker(['a', 'b', 'c']);
    expect(tracker.record('a', 5)).toBe(true);
    expect(tracker.record('a', 3)).toBe(false);
    expect(tracker.valueOf('a')).toBe(5);
    expect(tracker.record('z', 10)).toBe(false);
    expect(tracker.valueOf('z')).toBe(0);
    tracker.record('b', 5);
    expect(tracker.quorumValue()).toBe(5);
    tracker.reset('b');
    expect(tracker.valueOf('b')).toBe(0);
    expect(tracker.quorumValue()).toBe(0);
  });

  it('refuses an empty or duplicated voter set', () => {
    expect(() => new QuorumTracker([])).toThrow(QuorumConfigurationError);
    expect(() => new QuorumTracker(['a', 'a'])).toThrow(/appears twice/);
  });
});
