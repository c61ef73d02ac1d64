/**
 * ISSUE-23 finding 2 with real processes: a member restarted on an emptied or damaged data
 * directory under its old name must never vote or acknowledge. It is refused (at start, or by
 * the first peer that remembers its storage) with a message that names the runbook, and no
 * acknowledged write is lost.
 */

import { cp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import type { ProcessCluster, ProcessMember } from './support/process-cluster.js';
import type { StartedCluster } from './support/started-cluster.js';
import { startedCluster } from './support/started-cluster.js';

const RUNBOOK = 'docs/guides/operations.md#replace-a-member';
let running: StartedCluster | undefined;

afterEach(async () => {
  await running?.stop();
  running = undefined;
});

async function startCluster(): Promise<ProcessCluster> {
  running = await startedCluster(3);
  return running.cluster;
}

/** PUTs `count` keys through the leader, each acknowledged (201). */
async function putAcknowledged(leader: ProcessMember, count: number): Promise<void> {
  for (let first = 1; first <= count; first += 20) {
    const batch = [];
    for (let i = first; i < first + 20 && i <= count; i++) {
      batch.push(
        fetch(`${leader.clientUrl}/v1/kv/key-${i}`, { method: 'PUT', body: `value-${i}` }).then(
          async (response) => {
            await response.arrayBuffer();
            expect(response.status, `put ${i}`).toBe(201);
          },
        ),
      );
    }
    await Promise.all(batch);
  }
}

/** Resolves with the exit code once `child` exits; rejects after `timeoutMs`. */
function exitOf(child: ChildProcess, member: ProcessMember, timeoutMs = 30_000): Promise<number> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${member.name} still running; output:\n${member.output.join('')}`)),
      timeoutMs,
    );
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code ?? -1);
    });
  });
}

/** Starts `member` and expects it to be refused: exit code 1 and the runbook named. */
async function expectRefused(started: ProcessCluster, member: ProcessMember): Promise<string> {
  member.output.length = 0;
  const child = started.start(member);
  expect(await exitOf(child, member)).toBe(1);
  const output = member.output.join('');
  expect(output).toContain(RUNBOOK);
  return output;
}

async function readValue(member: ProcessMember, key: string): Promise<string | undefined> {
  const response = await fetch(`${member.clientUrl}/v1/kv/${key}`);
  const text = await response.text();
  return response.status === 200 ? text : undefined;
}

async function walSegments(dataDir: string): Promise<string[]> {
  const segments: string[] = [];
  for (const name of await readdir(dataDir)) {
    if (!name.startsWith('log-')) continue;
    for (const file of await readdir(`${dataDir}/${name}`)) {
      if (file.endsWith('.wal')) segments.push(`${dataDir}/${name}/${file}`);
    }
  }
  return segments;
}

describe('a forgetful member (real processes)', { timeout: 120_000 }, () => {
  it('200 acknowledged writes: a follower wiped and restarted is refused, and no write is lost', async () => {
    const started = await startCluster();
    const leader = await started.leader();
    await putAcknowledged(leader, 200);
    const [wiped, other] = started.members.filter((member) => member !== leader) as [
      ProcessMember,
      ProcessMember,
    ];
    await started.kill(wiped);
    await rm(wiped.dataDir, { recursive: true, force: true });
    // Under its old name on an empty directory: the leader remembers its storage and refuses it.
    const output = await expectRefused(started, wiped);
    expect(output).toMatch(/lost acknowledged state/);
    // The leader dies; the wiped member comes back again: it recorded the refusal and stays out,
    // so the member lacking writes cannot be elected with its vote.
    await started.kill(leader);
    expect(await expectRefused(started, wiped)).toMatch(/marked-lost/);
    started.start(leader);
    await started.waitReady([leader, other]);
    const newLeader = await started.leader();
    const values = await Promise.all(
      Array.from({ length: 200 }, (_, i) => readValue(newLeader, `key-${i + 1}`)),
    );
    expect(values).toEqual(Array.from({ length: 200 }, (_, i) => `value-${i + 1}`));
  });

  it('three disk damages are each refused with the runbook; the intact directory rejoins', async () => {
    const started = await startCluster();
    const leader = await started.leader();
    await putAcknowledged(leader, 20);
    const member = started.members.find((candidate) => candidate !== leader) as ProcessMember;
    await started.kill(member, 'SIGTERM');
    const intact = `${started.root}/${member.name}-intact`;
    await cp(member.dataDir, intact, { recursive: true });
    const restore = async (): Promise<void> => {
      await rm(member.dataDir, { recursive: true, force: true });
      await cp(intact, member.dataDir, { recursive: true });
    };

    // 1. The whole data directory deleted: a peer recognises the member by name and storage.
    await rm(member.dataDir, { recursive: true, force: true });
    await expectRefused(started, member);
    await restore();

    // 2. Only the log directory deleted: refused at start.
    for (const name of await readdir(member.dataDir)) {
      if (name.startsWith('log-')) await rm(`${member.dataDir}/${name}`, { recursive: true });
    }
    expect(await expectRefused(started, member)).toMatch(/log-missing/);
    await restore();

    // 3. The WAL segment zeroed (same size): refused at start, not repaired as a torn tail.
    const [segment] = await walSegments(member.dataDir);
    expect(segment).toBeDefined();
    const size = (await readFile(segment as string)).length;
    await writeFile(segment as string, new Uint8Array(size));
    expect(await expectRefused(started, member)).toMatch(/write-ahead log corrupted/);
    await restore();

    // Its intact directory is welcome back, and it has every write.
    started.start(member);
    await started.waitReady([member]);
    for (let i = 1; i <= 20; i++) {
      const value = await readValue(member, `key-${i}`);
      expect(value).toBe(`value-${i}`);
    }
  });
});
