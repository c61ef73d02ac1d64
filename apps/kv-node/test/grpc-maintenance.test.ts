/**
 * etcd's Maintenance service against a 3-member kv-node cluster, driven by `etcdctl` 3.4 (skipped
 * with a message when it is not installed) and grpc-js: `endpoint hashkv` (equal on every member
 * at the same revision, changed by a write), `move-leader` (and its refusals), `defrag`,
 * `snapshot save`.
 */

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Metadata, credentials, makeGenericClientConstructor, status } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { etcdServices } from '../src/grpc/etcd-proto.js';
import { snapshotFromBackup } from '../src/node/backup-file.js';
import { rangeRequest } from '../src/store/kv-types.js';
import { KvStateMachine } from '../src/store/kv-state-machine.js';
import type { ProcessCluster, ProcessMember } from './support/process-cluster.js';
import { etcdctlPresent } from './support/etcd-binaries.js';
import type { StartedCluster } from './support/started-cluster.js';
import { startedCluster } from './support/started-cluster.js';

const run = promisify(execFile);

let started: StartedCluster | undefined;
let cluster: ProcessCluster;

/** `host:port` of a member's client URL (etcdctl's endpoint form). */
function endpoint(member: ProcessMember): string {
  return new URL(member.clientUrl).host;
}

/** Runs etcdctl 3 against `members`; resolves with stdout. */
async function etcdctl(members: ProcessMember[], args: string[]): Promise<string> {
  const allArgs = [
    `--endpoints=${members.map(endpoint).join(',')}`,
    '--dial-timeout=5s',
    '--command-timeout=10s',
    ...args,
  ];
  return (await run('etcdctl', allArgs, { env: { ...process.env, ETCDCTL_API: '3' } })).stdout;
}

/** One line of `etcdctl endpoint hashkv -w json`. */
interface HashKvLine {
  Endpoint: string;
  HashKV: { header: { revision: number }; hash: number; compact_revision?: number };
}

/** Every member's HashKV, after a linearizable read through each (so each applied every write). */
async function hashes(revision?: number): Promise<HashKvLine[]> {
  for (const member of cluster.members) await etcdctl([member], ['get', 'hash/any']);
  const args = ['endpoint', 'hashkv', '-w', 'json'];
  if (revision !== undefined) args.push(`--rev=${revision}`);
  return JSON.parse(await etcdctl(cluster.members, args)) as HashKvLine[];
}

/** Member ids (hex, as etcdctl prints them) by name, from `etcdctl member list`. */
async function memberIds(): Promise<Map<string, string>> {
  const lines = (await etcdctl(cluster.members, ['member', 'list'])).trim().split('\n');
  return new Map(
    lines.map((line) => {
      const [id, , name] = line.split(', ');
      return [name as string, id as string];
    }),
  );
}

/** The hex member id each member's `endpoint status` reports as leader. */
async function reportedLeaders(): Promise<Set<string>> {
  const lines = (await etcdctl(cluster.members, ['endpoint', 'status'])).trim().split('\n');
  // "host:port, id, version, db size, is leader, is learner, term, index, applied, errors"
  return new Set(
    lines
      .map((line) => line.split(', ')[1] as string)
      .filter((_, index) => {
        return (lines[index] as string).split(', ')[4] === 'true';
      }),
  );
}

beforeAll(async () => {
  started = await startedCluster(3);
  cluster = started.cluster;
}, 120_000);

afterAll(async () => {
  await started?.stop();
});

describe.skipIf(!etcdctlPresent)('etcdctl endpoint hashkv', { timeout: 60_000 }, () => {
  it('gives equal hashes on every member at a revision, and another after a write', async () => {
    await etcdctl(cluster.members, ['put', 'hash/a', '1']);
    await etcdctl(cluster.members, ['put', 'hash/b', '2']);
    await etcdctl(cluster.members, ['put', 'hash/a', '3']);
    await etcdctl(cluster.members, ['del', 'hash/b']);
    const before = await hashes();
    expect(before.map((line) => line.Endpoint).sort()).toEqual(
      cluster.members.map(endpoint).sort(),
    );
    const revision = (before[0] as HashKvLine).HashKV.header.revision;
    expect(before.map((line) => line.HashKV.header.revision)).toEqual([
      revision,
      revision,
      revision,
    ]);
    const hash = (before[0] as HashKvLine).HashKV.hash;
    expect(hash).toBeGreaterThan(0);
    expect(before.map((line) => line.HashKV.hash)).toEqual([hash, hash, hash]);

    await etcdctl(cluster.members, ['put', 'hash/c', '4']);
    const after = await hashes();
    const changed = (after[0] as HashKvLine).HashKV.hash;
    expect(changed).not.toBe(hash);
    expect(after.map((line) => line.HashKV.hash)).toEqual([changed, changed, changed]);

    // The key space as of the earlier revision still hashes as it did.
    const past = await hashes(revision);
    expect(past.map((line) => line.HashKV.hash)).toEqual([hash, hash, hash]);

    // After a compaction every member reports its compact revision, and still agrees.
    await etcdctl(cluster.members, ['compact', String(revision)]);
    const compacted = await hashes();
    expect(compacted.map((line) => line.HashKV.compact_revision)).toEqual([
      revision,
      revision,
      revision,
    ]);
    const compactedHash = (compacted[0] as HashKvLine).HashKV.hash;
    expect(compacted.map((line) => line.HashKV.hash)).toEqual([
      compactedHash,
      compactedHash,
      compactedHash,
    ]);
    await expect(hashes(revision - 1)).rejects.toThrow(/required revision has been compacted/);
  });
});

describe.skipIf(!etcdctlPresent)('etcdctl defrag', { timeout: 60_000 }, () => {
  it('reports every member defragmented (there is nothing to defragment in memory)', async () => {
    const output = await etcdctl(cluster.members, ['defrag']);
    for (const member of cluster.members) {
      expect(output).toContain(`Finished defragmenting etcd member[${endpoint(member)}]`);
    }
  });
});

type Unary = (
  request: unknown,
  metadata: Metadata,
  callback: (error: ServiceError | null, response?: Record<string, unknown>) => void,
) => void;

/** Calls Maintenance.MoveLeader on `member` with grpc-js. */
async function moveLeader(member: ProcessMember, targetId: string): Promise<unknown> {
  const Client = makeGenericClientConstructor(etcdServices().maintenance, 'Maintenance');
  const client = new Client(endpoint(member), credentials.createInsecure());
  try {
    return await new Promise((resolve, reject) => {
      const unary = (client as unknown as Record<string, Unary>).MoveLeader as Unary;
      unary.call(client, { targetID: targetId }, new Metadata(), (error, response) =>
        error === null ? resolve(response) : reject(error),
      );
    });
  } finally {
    client.close();
  }
}

describe.skipIf(!etcdctlPresent)('etcdctl move-leader', { timeout: 60_000 }, () => {
  it('moves leadership to the member named, and refuses as etcd does', async () => {
    const ids = await memberIds();
    const leader = await cluster.leader();
    const target = cluster.members.find((member) => member !== leader) as ProcessMember;
    const leaderId = ids.get(leader.name) as string;
    const targetId = ids.get(target.name) as string;

    const output = await etcdctl([leader], ['move-leader', targetId]);
    expect(output.trim()).toBe(`Leadership transferred from ${leaderId} to ${targetId}`);
    expect(await reportedLeaders()).toEqual(new Set([targetId]));
    expect((await cluster.leader()).name).toBe(target.name);

    // The former leader is a follower now: it refuses, as etcd's followers do.
    await expect(moveLeader(leader, BigInt(`0x${leaderId}`).toString())).rejects.toMatchObject({
      code: status.FAILED_PRECONDITION,
      details: 'etcdserver: not leader',
    });
    // The leader refuses a target that is not a member.
    await expect(etcdctl(cluster.members, ['move-leader', 'abcdef'])).rejects.toThrow(
      /etcdserver: bad leader transferee/,
    );
  });
});

describe.skipIf(!etcdctlPresent)('etcdctl snapshot save', { timeout: 60_000 }, () => {
  it("writes the member's state to a file with etcd's trailing SHA-256", async () => {
    await etcdctl(cluster.members, ['put', 'backup/one', 'first']);
    await etcdctl(cluster.members, ['put', 'backup/two', 'second']);
    const member = cluster.members[1] as ProcessMember;
    await etcdctl([member], ['get', 'backup/one']);
    const revision = Number(
      /"revision":(\d+)/.exec(await etcdctl([member], ['get', 'backup/one', '-w', 'json']))?.[1],
    );
    const folder = await mkdtemp(join(tmpdir(), 'kv-backup-'));
    try {
      const path = join(folder, 'backup.db');
      const output = await etcdctl([member], ['snapshot', 'save', path]);
      expect(output.trim()).toBe(`Snapshot saved at ${path}`);
      const file = await readFile(path);
      // What etcd's `snapshot restore` checks: whole 512-byte blocks, then their SHA-256.
      expect(file.byteLength % 512).toBe(32);
      const content = file.subarray(0, file.byteLength - 32);
      expect(createHash('sha256').update(content).digest()).toEqual(
        file.subarray(file.byteLength - 32),
      );
      const restored = new KvStateMachine();
      restored.restore(snapshotFromBackup(file), 1);
      expect(restored.store.revision).toBeGreaterThanOrEqual(revision);
      const kvs = restored.store.range(rangeRequest('backup/', { rangeEnd: 'backup0' })).kvs;
      expect(kvs.map((kv) => [kv.key, kv.value])).toEqual([
        ['backup/one', 'first'],
        ['backup/two', 'second'],
      ]);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });
});
