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

  it("joins with 'existing' and no data by learning the cluster and its id from the members", async () => {
    const learned = { clusterId: '77', memberId: '1234', replicationId: (1234).toString(16) };
    const joined = await openDataDirectory(`${root}/c`, identity, {
      ...EXISTING,
      learnCluster: () => Promise.resolve(learned),
    });
    expect(joined).toMatchObject({ fresh: true, joining: true });
    expect(joined.identity).toEqual({ ...learned, name: 'a' });
    await joined.release();
    // Restarted: the id the cluster gave it stands, though no flag computes it.
    const again = await openDataDirectory(`${root}/c`, identity, {
      ...EXISTING,
      learnCluster: () => Promise.reject(new Error('a restart asks nobody')),
    });
    expect(again.identity).toEqual({ ...learned, name: 'a' });
    await again.release();
    // Under another name it is another member's directory.
    await expect(
      openDataDirectory(`${root}/c`, { ...identity, name: 'z' }, EXISTING),
    ).rejects.toThrow(/belongs to member a/);
  });

  it('checks --initial-cluster-id against the cluster the members answer for, and says why it cannot join', async () => {
    const learnCluster = () =>
      Promise.resolve({ clusterId: '255', memberId: '1234', replicationId: '4d2' });
    await expect(
      openDataDirectory(`${root}/d`, identity, { ...EXISTING, joinClusterId: '254', learnCluster }),
    ).rejects.toThrow(/--initial-cluster-id fe does not match .* \(ff\)/);
    const agreed = await openDataDirectory(`${root}/d`, identity, {
      ...EXISTING,
      joinClusterId: '255',
      learnCluster,
    });
    expect(agreed.identity.clusterId).toBe('255');
    await agreed.release();
    await expect(
      openDataDirectory(`${root}/e`, identity, {
        ...EXISTING,
        learnCluster: () => Promise.reject(new Error('no member lists this one')),
      }),
    ).rejects.toThrow(/no member lists this one.*operations\.md#replace-a-member/);
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
