import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { planLocalCluster } from './local-cluster-plan.js';
import {
  localClusterStateFile,
  readLocalClusterState,
  writeLocalClusterState,
} from './local-cluster-state.js';

const directories: string[] = [];

afterEach(() => {
  for (const directory of directories.splice(0))
    rmSync(directory, { recursive: true, force: true });
});

function dataDir(): string {
  const directory = mkdtempSync(`${tmpdir()}/kv-local-state-`);
  directories.push(directory);
  return directory;
}

describe('local cluster state', () => {
  it('is absent until a membership change writes it, then reads back as written', () => {
    const directory = dataDir();
    expect(readLocalClusterState(directory)).toBeUndefined();
    const members = planLocalCluster({ nodes: 3, basePort: 2379, dataDir: directory }).slice(1);
    const state = { members, addedMemberIds: { 'node-4': '123' } };
    writeLocalClusterState(directory, state);
    expect(readLocalClusterState(directory)).toEqual(state);
    // It names the members' flags: readable by its owner only, like the peer secret beside it.
    expect(statSync(localClusterStateFile(directory)).mode & 0o777).toBe(0o600);
  });

  it('refuses a file that is not a member list, naming it', () => {
    const directory = dataDir();
    writeFileSync(localClusterStateFile(directory), '{"members": 3}\n');
    expect(() => readLocalClusterState(directory)).toThrow(
      `${localClusterStateFile(directory)} is not a local cluster's member list`,
    );
    writeFileSync(localClusterStateFile(directory), '{"members": [');
    expect(() => readLocalClusterState(directory)).toThrow(
      `${localClusterStateFile(directory)} is not valid JSON`,
    );
  });
});
