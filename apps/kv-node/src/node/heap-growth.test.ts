import { describe, expect, it } from 'vitest';
import { HeapGrowthPolicy } from './heap-growth.js';

const MIB = 1024 * 1024;

function recorded(): { flags: string[]; policy: HeapGrowthPolicy } {
  const flags: string[] = [];
  return { flags, policy: new HeapGrowthPolicy({ setFlags: (flag) => flags.push(flag) }) };
}

describe('HeapGrowthPolicy', () => {
  it('allows 32 MiB of growth on a small heap and 20% on a large one', () => {
    const { flags, policy } = recorded();
    // 10 MiB live: 320% wanted, more than V8 itself would allow: its own heuristic stays.
    policy.afterFullCollection(10 * MIB);
    expect(flags).toEqual([]);
    policy.afterFullCollection(32 * MIB);
    expect(flags.at(-1)).toBe('--heap-growing-percent=100');
    policy.afterFullCollection(128 * MIB);
    expect(flags.at(-1)).toBe('--heap-growing-percent=25');
    policy.afterFullCollection(1024 * MIB);
    expect(flags.at(-1)).toBe('--heap-growing-percent=20');
    expect(policy.percent).toBe(20);
    // The same size again changes nothing.
    policy.afterFullCollection(1100 * MIB);
    expect(flags).toHaveLength(3);
    policy.afterFullCollection(8 * MIB);
    expect(flags.at(-1)).toBe('--heap-growing-percent=0');
    expect(policy.percent).toBe(0);
  });

  it('leaves an operator-given --heap-growing-percent alone', () => {
    const { flags, policy } = recorded();
    expect(policy.watch(['--heap-growing-percent=50'])).toBeUndefined();
    expect(policy.watch(['--inspect', '--heap_growing_percent', '80'])).toBeUndefined();
    expect(flags).toEqual([]);
  });

  it('watches full collections otherwise', () => {
    const { policy } = recorded();
    const stop = policy.watch(['--enable-source-maps']);
    expect(stop).toBeTypeOf('function');
    stop?.();
  });
});
