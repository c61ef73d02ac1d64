import { describe, expect, it } from 'vitest';
import { nodeTimers } from './node-timers.js';
import { pickNewest } from './pick-newest.js';
import { quorumRead } from './quorum-read.js';
import { quorumWrite } from './quorum-write.js';
import type { ReplicaClient } from './replica-client.js';
import { newer } from './version.js';
import type { VersionComparator, Versioned } from './version.js';

/** A version that is not `Version`: a timestamp pair and a writer, as a hybrid clock gives. */
interface Stamp {
  readonly wallMs: number;
  readonly logical: number;
  readonly writer: string;
}

const compareStamps: VersionComparator<Stamp> = (a, b) => {
  if (a === undefined || b === undefined)
    return (a === undefined ? 0 : 1) - (b === undefined ? 0 : 1);
  if (a.wallMs !== b.wallMs) return a.wallMs - b.wallMs;
  if (a.logical !== b.logical) return a.logical - b.logical;
  return a.writer < b.writer ? -1 : a.writer > b.writer ? 1 : 0;
};

const early: Versioned<string, Stamp> = {
  value: 'early',
  version: { wallMs: 1000, logical: 5, writer: 'b' },
};
const late: Versioned<string, Stamp> = {
  value: 'late',
  version: { wallMs: 1001, logical: 0, writer: 'a' },
};
const tieWinner: Versioned<string, Stamp> = {
  value: 'tie',
  version: { wallMs: 1001, logical: 0, writer: 'c' },
};

describe('a caller-defined version type', () => {
  it('orders values by the comparator, ties broken by it too', () => {
    expect(newer(early, late, compareStamps)).toBe(late);
    expect(newer(late, early, compareStamps)).toBe(late);
    expect(newer(late, tieWinner, compareStamps)).toBe(tieWinner);
    const picked = pickNewest(
      [
        { node: 'x', response: late },
        { node: 'y', response: tieWinner },
        { node: 'z', response: undefined },
      ],
      compareStamps,
    );
    expect(picked.newest).toBe(tieWinner);
    expect(picked.staleNodes).toEqual(['x', 'z']);
    expect(picked.freshNodes).toEqual(['y']);
  });

  it('reads the newest by the comparator and repairs the stale replicas with it', async () => {
    const stores = new Map<string, Versioned<string, Stamp> | undefined>([
      ['a', early],
      ['b', late],
      ['c', undefined],
    ]);
    const replicas: ReplicaClient<string, string, Stamp> = {
      read: (node) => Promise.resolve(stores.get(node)),
      write: (node, _key, value) => {
        stores.set(node, newer(stores.get(node), value, compareStamps));
        return Promise.resolve();
      },
    };
    const common = { nodes: ['a', 'b', 'c'], replicas, key: 'k', timeoutMs: 1000 };
    const read = await quorumRead({
      ...common,
      timers: nodeTimers,
      readQuorum: 3,
      readRepair: 'sync',
      compareVersions: compareStamps,
    });
    expect(read.value).toBe(late);
    expect([...read.staleNodes].sort()).toEqual(['a', 'c']);
    await read.repair;
    expect([...stores.values()]).toEqual([late, late, late]);

    await quorumWrite({ ...common, timers: nodeTimers, value: tieWinner, writeQuorum: 3 });
    expect([...stores.values()]).toEqual([tieWinner, tieWinner, tieWinner]);
  });
});
