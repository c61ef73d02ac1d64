import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { hybridTimestamp } from '@x/clocks';
import { afterEach, describe, expect, it } from 'vitest';
import { QuorumReplicaStore } from './quorum-replica-store.js';

const directories: string[] = [];
afterEach(async () => {
  await Promise.all(directories.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function directory(): Promise<string> {
  const dir = await mkdtemp(`${tmpdir()}/quorum-store-`);
  directories.push(dir);
  return `${dir}/quorum-log`;
}

const at = (wallMs: number, writer = 'athens') => ({
  timestamp: hybridTimestamp(wallMs, 0),
  writer,
});

describe('QuorumReplicaStore', () => {
  it('keeps the newest version of each key whatever order writes arrive in', async () => {
    const store = QuorumReplicaStore.inMemory();
    expect(await store.write('k', { value: 'new', version: at(20) })).toBe(true);
    expect(await store.write('k', { value: 'old', version: at(10) })).toBe(false);
    expect(await store.write('k', { value: 'new', version: at(20) })).toBe(false);
    expect(store.get('k')?.value).toBe('new');
    expect(await store.write('k', { value: 'tie', version: at(20, 'byzantium') })).toBe(true);
    expect(store.get('k')?.value).toBe('tie');
    expect(await store.write('k', { value: null, version: at(30) })).toBe(true);
    expect(store.get('k')?.value).toBeNull();
  });

  it('lists key ranges in order, tombstones included, up to a limit', async () => {
    const store = QuorumReplicaStore.inMemory();
    for (const key of ['b', 'a', 'd', 'c']) await store.write(key, { value: key, version: at(1) });
    await store.write('c', { value: null, version: at(2) });
    expect(store.range('a', 'd', 0).map(({ key }) => key)).toEqual(['a', 'b', 'c']);
    expect(store.range('b', undefined, 2).map(({ key }) => key)).toEqual(['b', 'c']);
    expect(store.range('b', undefined, 0)[1]?.stored.value).toBeNull();
  });

  it('recovers every acknowledged write from its log, and the highest timestamp', async () => {
    const dir = await directory();
    const store = await QuorumReplicaStore.open(dir);
    await store.write('k', { value: 'two', version: at(200) });
    await store.write('k', { value: 'one', version: at(100) });
    await store.write('gone', { value: 'x', version: at(50) });
    await store.write('gone', { value: null, version: at(60) });
    await store.close();

    const reopened = await QuorumReplicaStore.open(dir);
    expect(reopened.get('k')).toEqual({ value: 'two', version: at(200) });
    expect(reopened.get('gone')?.value).toBeNull();
    expect(reopened.highestTimestamp).toEqual(hybridTimestamp(200, 0));
    await reopened.close();
  });
});
