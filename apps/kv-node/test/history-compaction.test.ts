/**
 * History, compaction and the NOSPACE alarm with real member processes: a compaction sent to a
 * follower goes through the log and every member then refuses reads below it; a member restarted
 * from a snapshot serves the same past revisions; the leader compacts on its own with
 * --auto-compaction-retention; past --quota-backend-bytes writes get etcd's "database space
 * exceeded" on every member until compaction frees space and the alarm is disarmed.
 */

import { afterEach, describe, expect, it } from 'vitest';
import type { ProcessCluster, ProcessMember } from './support/process-cluster.js';
import type { StartedCluster } from './support/started-cluster.js';
import { startedCluster } from './support/started-cluster.js';

const b = (text: string): string => Buffer.from(text).toString('base64');
let running: StartedCluster | undefined;

afterEach(async () => {
  await running?.stop();
  running = undefined;
});

async function startCluster(extraArgs: string[]): Promise<ProcessCluster> {
  running = await startedCluster(3, { extraArgs });
  return running.cluster;
}

async function post(
  member: ProcessMember,
  path: string,
  body: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${member.clientUrl}${path}`, {
    method: 'POST',
    body: JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

/** A serializable (local) read of the whole key space on one member, as of `revision`. */
function readAt(member: ProcessMember, revision: number) {
  return post(member, '/v3/kv/range', {
    key: 'AA==',
    range_end: 'AA==',
    revision,
    serializable: true,
  });
}

/** Waits until every member has applied `revision` (serializable reads see it). */
async function waitApplied(members: ProcessMember[], revision: number): Promise<void> {
  for (const member of members) {
    for (let attempt = 0; ; attempt++) {
      const { json } = await post(member, '/v3/kv/range', { key: b('x'), serializable: true });
      if (Number((json.header as { revision: string }).revision) >= revision) break;
      if (attempt > 300) throw new Error(`${member.name} never applied ${revision}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/**
 * Waits until `member` has applied a compaction at `revision` (a read just below it is refused).
 * The compaction's answer comes once the member that took it applied it; the others apply it
 * when they catch up, and a compaction does not move the revision `waitApplied` watches.
 */
async function waitCompacted(member: ProcessMember, revision: number): Promise<void> {
  for (let attempt = 0; (await readAt(member, revision - 1)).status !== 400; attempt++) {
    if (attempt > 300) throw new Error(`${member.name} never compacted at ${revision}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const compactedError = {
  status: 400,
  json: expect.objectContaining({
    error: 'etcdserver: mvcc: required revision has been compacted',
    code: 11,
  }) as unknown,
};

describe('history and compaction across real members', { timeout: 120_000 }, () => {
  it('compacts every member at one revision, through any member, and keeps it in snapshots', async () => {
    const started = await startCluster(['--snapshot-count', '10']);
    const leader = await started.leader();
    const follower = started.members.find((member) => member !== leader) as ProcessMember;
    for (let round = 1; round <= 30; round++) {
      const put = await post(leader, '/v3/kv/put', {
        key: b(`k${round % 4}`),
        value: b(`v${round}`),
      });
      expect(put.status).toBe(200);
    }
    await post(leader, '/v3/kv/deleterange', { key: b('k1') });
    const current = 32;
    await waitApplied(started.members, current);
    const before = await readAt(leader, 20);
    expect(before.status).toBe(200);
    const compacted = await post(follower, '/v3/kv/compaction', { revision: 20 });
    expect(compacted.status).toBe(200);
    expect(await post(follower, '/v3/kv/compaction', { revision: 20 })).toMatchObject(
      compactedError,
    );
    for (const member of started.members) {
      await waitCompacted(member, 20);
      expect(await readAt(member, 19)).toMatchObject(compactedError);
      expect((await readAt(member, 20)).json.kvs).toEqual(before.json.kvs);
    }
    // Restarted, a member recovers from its snapshot (taken every 10 entries) and its log.
    await started.kill(follower);
    started.start(follower);
    await started.waitReady([follower]);
    await waitApplied([follower], current);
    await waitCompacted(follower, 20);
    expect(await readAt(follower, 19)).toMatchObject(compactedError);
    for (let revision = 20; revision <= current; revision++) {
      expect((await readAt(follower, revision)).json.kvs).toEqual(
        (await readAt(leader, revision)).json.kvs,
      );
    }
  });

  it('compacts on its own with --auto-compaction-retention', async () => {
    const started = await startCluster([
      '--auto-compaction-mode',
      'revision',
      '--auto-compaction-retention',
      '5',
      '--auto-compaction-check-interval',
      '200',
    ]);
    const leader = await started.leader();
    for (let round = 1; round <= 20; round++) {
      await post(leader, '/v3/kv/put', { key: b('auto'), value: b(`v${round}`) });
    }
    // The leader proposes the compaction at its next check: wait for it on every member.
    for (const member of started.members) {
      for (let attempt = 0; (await readAt(member, 15)).status !== 400; attempt++) {
        if (attempt > 300) throw new Error(`${member.name} never compacted`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(await readAt(member, 15)).toMatchObject(compactedError);
      expect((await readAt(member, 16)).status).toBe(200);
    }
  });

  it('raises NOSPACE past the quota; reads go on; compaction and disarming restore writes', async () => {
    const started = await startCluster(['--quota-backend-bytes', '4096']);
    const leader = await started.leader();
    const follower = started.members.find((member) => member !== leader) as ProcessMember;
    let refused: { status: number; json: Record<string, unknown> } | undefined;
    for (let round = 0; round < 100 && refused === undefined; round++) {
      const put = await post(follower, '/v3/kv/put', { key: b('big'), value: b('x'.repeat(200)) });
      if (put.status !== 200) refused = put;
    }
    expect(refused).toMatchObject({
      status: 429,
      json: { error: 'etcdserver: mvcc: database space exceeded', code: 8 },
    });
    const alarms = await post(leader, '/v3/maintenance/alarm', { action: 'GET' });
    expect(alarms.json.alarms).toEqual([
      { memberID: expect.stringMatching(/^\d+$/) as unknown, alarm: 'NOSPACE' },
    ]);
    const raised = (alarms.json.alarms as { memberID: string }[])[0]?.memberID;
    // Every member refuses, whoever raised it; reads and deletes still work.
    for (const member of started.members) {
      expect((await post(member, '/v3/kv/put', { key: b('more'), value: b('1') })).status).toBe(
        429,
      );
      expect((await post(member, '/v3/kv/range', { key: b('big') })).status).toBe(200);
    }
    const deleted = await post(leader, '/v3/kv/deleterange', { key: b('big') });
    expect(deleted.status).toBe(200);
    const revision = Number((deleted.json.header as { revision: string }).revision);
    expect((await post(leader, '/v3/kv/compaction', { revision })).status).toBe(200);
    // Space is free, but writes wait for an operator to disarm the alarm, as in etcd.
    expect((await post(leader, '/v3/kv/put', { key: b('more'), value: b('1') })).status).toBe(429);
    const disarmed = await post(follower, '/v3/maintenance/alarm', {
      action: 'DEACTIVATE',
      memberID: raised,
      alarm: 'NOSPACE',
    });
    expect(disarmed.json).toEqual({ alarms: [{ memberID: raised, alarm: 'NOSPACE' }] });
    expect((await post(leader, '/v3/kv/put', { key: b('more'), value: b('1') })).status).toBe(200);
  });
});
