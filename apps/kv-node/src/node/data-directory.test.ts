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

const NEW = { clusterState: 'new', joinClusterId: undefined } as const;
const EXISTING = { clusterState: 'existing', joinClusterId: undefined } as const;

describe('data directory', () => {
  it('is stamped on first use and accepted again by the same member', async () => {
    const first = await openDataDirectory(`${root}/a`, identity, NEW);
    expect(first.fresh).toBe(true);
    await first.release();
    const again = await openDataDirectory(`${root}/a`, identity, EXISTING);
    expect(again.fresh).toBe(false);
    await again.release();
  });

  it('refuses a second opener while locked', async () => {
    const held = await openDataDirectory(`${root}/a`, identity, NEW);
    await expect(openDataDirectory(`${root}/a`, identity, NEW)).rejects.toThrow(/locked/);
    await held.release();
  });

  it('refuses a directory of another cluster or member', async () => {
    await (await openDataDirectory(`${root}/a`, identity, NEW)).release();
    await expect(
      openDataDirectory(`${root}/a`, { ...identity, clusterId: '9' }, NEW),
    ).rejects.toThrow(/belongs to cluster 1, not 9/);
    await expect(
      openDataDirectory(`${root}/a`, { ...identity, memberId: '3', name: 'b' }, NEW),
    ).rejects.toThrow(DataDirectoryError);
    // A refused open releases its lock.
    await (await openDataDirectory(`${root}/a`, identity, NEW)).release();
  });

  it("refuses 'existing' without data unless told the cluster to join", async () => {
    await expect(openDataDirectory(`${root}/b`, identity, EXISTING)).rejects.toThrow(
      /--initial-cluster-id.*operations\.md#replace-a-member/,
    );
    const joined = await openDataDirectory(`${root}/b`, identity, {
      clusterState: 'existing',
      joinClusterId: '77',
    });
    expect(joined).toMatchObject({ fresh: true, joining: true });
    expect(joined.identity).toMatchObject({ clusterId: '77', replicationId: '2' });
    await joined.release();
    // Restarted with the same flags or without the cluster id: the directory keeps it.
    const again = await openDataDirectory(`${root}/b`, identity, EXISTING);
    expect(again.identity.clusterId).toBe('77');
    expect(again.joining).toBe(false);
    await again.release();
  });

  it('refuses a directory in the older wal/ + snap/ layout instead of ignoring its data', async () => {
    await (await openDataDirectory(`${root}/a`, identity, NEW)).release();
    await mkdir(`${root}/a/wal`);
    await expect(openDataDirectory(`${root}/a`, identity, EXISTING)).rejects.toThrow(
      /older kv-node data layout/,
    );
    // A refused open releases its lock.
    await rm(`${root}/a/wal`, { recursive: true });
    await (await openDataDirectory(`${root}/a`, identity, EXISTING)).release();
  });
});
