/**
 * The members of a local cluster (`kv-node cluster`) after a membership change, kept in its data
 * directory: once a member was added or removed, `--nodes` no longer describes the cluster, and a
 * restarted launcher must start the members that are, with the flags each was started with.
 */

import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { LocalMemberPlan } from './local-cluster-plan.js';

/** What the file holds. */
export interface LocalClusterState {
  /** The members now in the cluster, each with the flags it runs with. */
  members: LocalMemberPlan[];
  /**
   * Member ids (decimal) of the members added at run time, by name: their peers know them by
   * it, and the peer proxy recognises their connections by it.
   */
  addedMemberIds: Record<string, string>;
}

/** Where a local cluster keeps its {@link LocalClusterState}. */
export function localClusterStateFile(dataDir: string): string {
  return `${dataDir.replace(/\/+$/, '')}/local-cluster.json`;
}

/**
 * Reads the state, or `undefined` when the cluster's members never changed (no file).
 * @throws Error naming the file when it exists but cannot be read or parsed.
 */
export function readLocalClusterState(dataDir: string): LocalClusterState | undefined {
  const path = localClusterStateFile(dataDir);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read ${path}: ${(error as Error).message}`);
  }
  let state: Partial<LocalClusterState>;
  try {
    state = JSON.parse(text) as Partial<LocalClusterState>;
  } catch (error) {
    throw new Error(`${path} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof state !== 'object' || state === null || !Array.isArray(state.members)) {
    throw new Error(`${path} is not a local cluster's member list`);
  }
  return {
    members: state.members,
    addedMemberIds: state.addedMemberIds ?? {},
  };
}

/** Replaces the state file (written beside it, then renamed over it, so it is never half written). */
export function writeLocalClusterState(dataDir: string, state: LocalClusterState): void {
  const path = localClusterStateFile(dataDir);
  writeFileSync(`${path}.tmp`, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
}
