import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DataDirectoryError, openDataDirectory } from './data-directory.js';

const identity = { clusterId: '1', memberId: '2', name: 'a' };
let root: string;

beforeEach(async () => {
  root = await mkdtemp(`${tmpdir()}/kv-data-`);
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('data directory', () => {
  it('is stamped on first use and accepted again by the same member', async () => {
    const first = await openDataDirectory(`${root}/a`, identity, 'new');
    expect(first.fresh).toBe(true);
    await first.release();
    const again = await openDataDirectory(`${root}/a`, identity, 'existing');
    expect(again.fresh).toBe(false);
    await again.release();
  });

  it('refuses a second opener while locked', async () => {
    const held = await openDataDirectory(`${root}/a`, identity, 'new');
    await expect(openDataDirectory(`${root}/a`, identity, 'new')).rejects.toThrow(/locked/);
    await held.release();
  });

  it('refuses a directory of another cluster or member', async () => {
    await (await openDataDirectory(`${root}/a`, identity, 'new')).release();
    await expect(
      openDataDirectory(`${root}/a`, { ...identity, clusterId: '9' }, 'new'),
    ).rejects.toThrow(/belongs to cluster 1, not 9/);
    await expect(
      openDataDirectory(`${root}/a`, { ...identity, memberId: '3', name: 'b' }, 'new'),
    ).rejects.toThrow(DataDirectoryError);
    // A refused open releases its lock.
    await (await openDataDirectory(`${root}/a`, identity, 'new')).release();
  });

  it("refuses 'existing' without data", async () => {
    await expect(openDataDirectory(`${root}/b`, identity, 'existing')).rejects.toThrow(/existing/);
  });

  it('refuses a directory in the older wal/ + snap/ layout instead of ignoring its data', async () => {
    await (await openDataDirectory(`${root}/a`, identity, 'new')).release();
    await mkdir(`${root}/a/wal`);
    await expect(openDataDirectory(`${root}/a`, identity, 'existing')).rejects.toThrow(
      /older kv-node data layout/,
    );
    // A refused open releases its lock.
    await rm(`${root}/a/wal`, { recursive: true });
    await (await openDataDirectory(`${root}/a`, identity, 'existing')).release();
  });
});
