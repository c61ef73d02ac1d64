/**
 * `kv-node snapshot restore`: builds a new member's data directory from a backup file (what
 * `etcdctl snapshot save` wrote from a kv-node member's `Maintenance.Snapshot`), as `etcdctl
 * snapshot restore` does for etcd. Every member of the new cluster is restored from the same file
 * with its own `--name` and the new cluster's `--initial-cluster`; started together, they hold
 * the backup's keys, values, revisions, history, leases and users, and elect a leader as a new
 * cluster does.
 *
 * The state machine snapshot goes into the directory as the member's latest snapshot at log
 * index 1, generation 1 (the same on every restored member, so none is ahead of another), beside
 * the identity file of the new cluster; the member creates its log after it when it starts.
 */

import { readFile } from 'node:fs/promises';
import { seedDataDirectory } from '@x/leader-follower';
import { NodeFileSystem } from '@x/wal';
import { KvStateMachine } from '../store/kv-state-machine.js';
import { snapshotFromBackup } from './backup-file.js';
import { openDataDirectory } from './data-directory.js';
import type { DataDirectoryIdentity } from './data-directory.js';

/** Why a backup cannot be restored; the message names the file and what is wrong. */
export class RestoreError extends Error {
  /** @param message what is wrong and, where it helps, what to do. */
  constructor(message: string) {
    super(message);
    this.name = 'RestoreError';
  }
}

/** What a restore wrote. */
export interface RestoredBackup {
  /** The store revision the backup was taken at. */
  revision: number;
  /** Keys in the store. */
  keys: number;
  /** Leases in the lease table. */
  leases: number;
}

/** The log index and generation a restored member's snapshot stands at. */
const RESTORED_INDEX = 1;
const RESTORED_GENERATION = 1;

/**
 * Checks the backup at `file` (frame, SHA-256, and that its content decodes) and writes a new
 * member's data directory from it at `dataDir`, stamped with `identity`.
 *
 * @throws RestoreError when the file cannot be read, is not a kv-node backup (an etcd snapshot is
 *   a bbolt database, which kv-node cannot read), is damaged, or `dataDir` already holds data.
 */
export async function restoreBackup(
  file: string,
  dataDir: string,
  identity: DataDirectoryIdentity,
): Promise<RestoredBackup> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw new RestoreError(`cannot read ${file}: ${(error as Error).message}`);
  }
  let snapshot: Uint8Array;
  try {
    snapshot = snapshotFromBackup(bytes);
  } catch (error) {
    const message = (error as Error).message;
    const notOurs = /^not a kv-node backup: (.*)$/.exec(message);
    throw new RestoreError(
      notOurs === null
        ? `${file}: ${message}`
        : `${file} is not a kv-node snapshot (${notOurs[1]}); kv-node restores files that ` +
            '`etcdctl snapshot save` wrote from a kv-node member (an etcd snapshot is a bbolt ' +
            'database, which only etcd restores)',
    );
  }
  // Decoded once here, so a damaged content is refused before any directory is written.
  const machine = new KvStateMachine();
  try {
    machine.restore(snapshot, RESTORED_INDEX);
  } catch (error) {
    throw new RestoreError(`${file}: snapshot damaged: ${(error as Error).message}`);
  }
  // The restored cluster is the one --initial-cluster names (etcd's `snapshot restore` rewrites
  // membership the same way): the backed-up cluster's member registry would send this one's
  // members to the old members' addresses.
  machine.members.replaceWith([], []);
  const seeded = machine.snapshot();
  try {
    await seedDataDirectory(new NodeFileSystem(), dataDir, {
      index: RESTORED_INDEX,
      generation: RESTORED_GENERATION,
      data: seeded,
    });
  } catch (error) {
    throw new RestoreError(`--data-dir: ${(error as Error).message}`);
  }
  const directory = await openDataDirectory(dataDir, identity, {
    clusterState: 'new',
    joinClusterId: undefined,
  });
  await directory.release();
  return {
    revision: machine.store.revision,
    keys: machine.store.size,
    leases: machine.leases.size,
  };
}
