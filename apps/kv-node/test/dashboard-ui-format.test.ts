import { describe, expect, it } from 'vitest';
import {
  colorForNode,
  formatAge,
  formatCount,
  formatQuorumReplica,
  formatRate,
} from '../ui/format.js';

describe('dashboard formatting', () => {
  it('formats counts, ages and rates for people', () => {
    expect(formatCount(null)).toBe('-');
    expect(formatCount(1234567)).toBe('1,234,567');
    expect(formatAge(null)).toBe('-');
    expect(formatAge(85.4)).toBe('85 ms');
    expect(formatAge(1234)).toBe('1.2 s');
    expect(formatAge(180_000)).toBe('3 min');
    expect(formatRate(0)).toBe('0.0');
    expect(formatRate(7.25)).toBe('7.3');
    expect(formatRate(12_345.6)).toBe('12,346');
  });

  it('gives each node a stable color, and gray to "no leader"', () => {
    expect(colorForNode('node-2')).toBe(colorForNode('node-2'));
    expect(colorForNode('node-1')).not.toBe(colorForNode('node-2'));
    expect(colorForNode(null)).toBe('#c9ced6');
    expect(colorForNode('alpha')).toMatch(/^#[0-9a-f]{6}$/);
  });
});

describe('formatQuorumReplica', () => {
  it('reads keys, tombstones, the state hash and the repair backlog of a quorum-mode member', () => {
    expect(
      formatQuorumReplica({
        keys: 1204,
        tombstones: 3,
        stateHash: '9f2c41aa07de',
        repairBacklog: 2,
      }),
    ).toBe('1,204 keys · 3 tombstones · state 9f2c41aa07de · repair backlog 2');
    // Before the member's first anti-entropy round there is no backlog to show.
    expect(
      formatQuorumReplica({
        keys: 0,
        tombstones: 0,
        stateHash: 'e3b0c44298fc',
        repairBacklog: null,
      }),
    ).toBe('0 keys · 0 tombstones · state e3b0c44298fc');
  });
});
