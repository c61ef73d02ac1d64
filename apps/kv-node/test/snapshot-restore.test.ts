/**
 * Backup and restore end to end, as an etcd operator does it: `etcdctl snapshot save` from a
 * live 3-member kv-node cluster, `kv-node snapshot restore` into three new data directories, a new
 * cluster started on them holds the same keys, values, revisions and leases. A file that is not a
 * kv-node snapshot (a real etcd 3.4 snapshot, when `etcd` is installed) or is damaged is refused
 * with a message that says so, and a used data directory is never overwritten.
 */

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { etcdPresent, etcdctlPresent } from './support/etcd-binaries.js';
import type { ProcessMember } from './support/process-cluster.js';
import { sharedCliPath } from './support/process-cluster.js';
import type { StartedCluster } from './support/started-cluster.js';
import { startedCluster } from './support/started-cluster.js';
import type { RealEtcd } from './support/real-etcd.js';
import { startRealEtcd } from './support/real-etcd.js';

const run = promisify(execFile);
const fromB64 = (text: string | undefined): string => Buffer.from(text ?? '', 'base64').toString();

let cliPath: string;
let workDir: string;
let source: StartedCluster | undefined;
let restored: StartedCluster | undefined;
let etcd: RealEtcd | undefined;

async function etcdctl(endpoints: string[], args: string[]): Promise<string> {
  const { stdout } = await run(
    'etcdctl',
    [`--endpoints=${endpoints.join(',')}`, '--dial-timeout=5s', '--command-timeout=30s', ...args],
    { env: { ...process.env, ETCDCTL_API: '3' } },
  );
  return stdout;
}

const endpointOf = (member: ProcessMember): string => new URL(member.clientUrl).host;

/** Runs `kv-node snapshot restore`; resolves with its exit code and output. */
async function restore(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [
      cliPath,
      'snapshot',
      'restore',
      ...args,
    ]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/** What etcdctl shows of a cluster's data: every key-value with its revisions, and the leases. */
interface ClusterData {
  revision: number;
  kvs: {
    key: string;
    value: string;
    create: number;
    mod: number;
    version: number;
    lease: number;
  }[];
  leases: { id: string; grantedTtl: number; keys: string[] }[];
}

async function clusterData(endpoints: string[]): Promise<ClusterData> {
  const range = JSON.parse(await etcdctl(endpoints, ['get', '', '--from-key', '-w', 'json'])) as {
    header: { revision: number };
    kvs?: {
      key: string;
      value?: string;
      create_revision: number;
      mod_revision: number;
      version: number;
      lease?: number;
    }[];
  };
  // Lease ids are 64-bit: read them as etcdctl prints them in text (hex), not as JSON numbers.
  const leaseIds = (await etcdctl(endpoints, ['lease', 'list']))
    .split('\n')
    .slice(1)
    .filter((line) => line !== '')
    .sort();
  const leases = [];
  for (const id of leaseIds) {
    const live = JSON.parse(
      await etcdctl(endpoints, ['lease', 'timetolive', id, '--keys', '-w', 'json']),
    ) as { 'granted-ttl': number; keys?: string[] };
    leases.push({
      id,
      grantedTtl: live['granted-ttl'],
      keys: (live.keys ?? []).map(fromB64).sort(),
    });
  }
  return {
    revision: range.header.revision,
    kvs: (range.kvs ?? []).map((kv) => ({
      key: fromB64(kv.key),
      value: fromB64(kv.value),
      create: kv.create_revision,
      mod: kv.mod_revision,
      version: kv.version,
      lease: kv.lease ?? 0,
    })),
    leases,
  };
}

beforeAll(async () => {
  // `snapshot restore` runs the CLI the members run; it writes only into the data directories.
  cliPath = sharedCliPath();
  workDir = await mkdtemp(`${tmpdir()}/kv-restore-`);
}, 120_000);

afterAll(async () => {
  await source?.stop();
  await restored?.stop();
  await etcd?.stop();
  await rm(workDir, { recursive: true, force: true });
});

describe.skipIf(!etcdctlPresent)('kv-node snapshot restore', { timeout: 180_000 }, () => {
  let backup: string;
  let saved: ClusterData;

  it('restores a snapshot saved with etcdctl into a new 3-member cluster: same keys, values, revisions and leases', async () => {
    source = await startedCluster(3);
    const endpoints = source.cluster.members.map(endpointOf);
    const [first] = endpoints as [string];
    // Overwrites, a delete and a lease with keys, so revisions and versions differ per key.
    for (const [key, value] of [
      ['app/a', 'one'],
      ['app/b', 'two'],
      ['app/a', 'three'],
      ['app/c', 'gone'],
      ['other', 'x'.repeat(2000)],
    ]) {
      await etcdctl([first], ['put', key as string, value as string]);
    }
    await etcdctl([first], ['del', 'app/c']);
    const grant = await etcdctl([first], ['lease', 'grant', '600']);
    const leaseId = /lease ([0-9a-f]+) granted/.exec(grant)?.[1] as string;
    await etcdctl([first], ['put', 'leased/1', 'held', `--lease=${leaseId}`]);
    await etcdctl([first], ['put', 'leased/2', 'held too', `--lease=${leaseId}`]);
    await etcdctl([first], ['lease', 'grant', '900']);
    saved = await clusterData(endpoints);
    expect(saved.kvs.map((kv) => kv.key)).toEqual([
      'app/a',
      'app/b',
      'leased/1',
      'leased/2',
      'other',
    ]);
    expect(saved.leases).toHaveLength(2);

    backup = `${workDir}/backup.db`;
    const saveOutput = await etcdctl([endpoints[1] as string], ['snapshot', 'save', backup]);
    expect(saveOutput).toContain(`Snapshot saved at ${backup}`);
    await source.stop();
    source = undefined;

    // Each member's data directory is restored before any member starts.
    restored = await startedCluster(3, {
      beforeStart: async (planned) => {
        for (const member of planned.members) {
          const result = await restore([backup, ...member.args]);
          expect(result.stderr).toBe('');
          expect(result.code).toBe(0);
          expect(result.stdout).toContain(
            `restored ${backup} into ${member.dataDir} for member ${member.name} (revision ${saved.revision}, 5 keys, 2 leases)`,
          );
        }
      },
    });
    const restoredEndpoints = restored.cluster.members.map(endpointOf);
    // Every member serves the restored data (serializable reads: each member's own copy).
    for (const endpoint of restoredEndpoints) {
      const local = JSON.parse(
        await etcdctl([endpoint], ['get', '', '--from-key', '--consistency=s', '-w', 'json']),
      ) as { kvs: { mod_revision: number }[] };
      expect(local.kvs.map((kv) => kv.mod_revision)).toEqual(saved.kvs.map((kv) => kv.mod));
    }
    expect(await clusterData(restoredEndpoints)).toEqual(saved);
    // The next write continues the revisions.
    const put = JSON.parse(
      await etcdctl(restoredEndpoints, ['put', 'after', 'restore', '-w', 'json']),
    ) as { header: { revision: number } };
    expect(put.header.revision).toBe(saved.revision + 1);
  });

  it('refuses a damaged snapshot and never overwrites a data directory', async () => {
    const bytes = await readFile(backup);
    const damaged = Buffer.from(bytes);
    const middle = Math.floor(damaged.length / 2);
    damaged[middle] = (damaged[middle] as number) ^ 0x01;
    await writeFile(`${workDir}/damaged.db`, damaged);
    const member = (restored as StartedCluster).cluster.members[0] as ProcessMember;
    const fresh = `${workDir}/fresh`;
    const args = [...member.args];
    args[args.indexOf('--data-dir') + 1] = fresh;
    const result = await restore([`${workDir}/damaged.db`, ...args]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `kv-node snapshot restore: ${workDir}/damaged.db: backup damaged: its SHA-256 does not match its content\n`,
    );
    // Nothing was written for it.
    await expect(readFile(`${fresh}/member.json`)).rejects.toThrow();

    const used = await restore([backup, ...member.args]);
    expect(used.code).toBe(1);
    expect(used.stderr).toMatch(/^kv-node snapshot restore: --data-dir: .* is not empty/);

    const missing = await restore([...member.args]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('name one snapshot file');
  });

  it.skipIf(!etcdPresent)(
    "refuses etcd 3.4's own snapshot (a bbolt database) as not kv-node's",
    async () => {
      etcd = await startRealEtcd();
      const etcdSnapshot = `${workDir}/etcd.db`;
      try {
        await etcdctl([etcd.clientUrl], ['put', 'k', 'v']);
        await etcdctl([etcd.clientUrl], ['snapshot', 'save', etcdSnapshot]);
      } finally {
        await etcd.stop();
      }
      const member = (restored as StartedCluster).cluster.members[0] as ProcessMember;
      const args = [...member.args];
      const target = `${workDir}/from-etcd`;
      args[args.indexOf('--data-dir') + 1] = target;
      const result = await restore([etcdSnapshot, ...args]);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(
        new RegExp(
          `^kv-node snapshot restore: ${etcdSnapshot} is not a kv-node snapshot \\(.*\\); kv-node restores files that \`etcdctl snapshot save\` wrote from a kv-node member \\(an etcd snapshot is a bbolt database, which only etcd restores\\)\\n$`,
        ),
      );
      await expect(readFile(`${target}/member.json`)).rejects.toThrow();
    },
  );
});
