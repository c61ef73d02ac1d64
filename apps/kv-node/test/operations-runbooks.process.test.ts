/**
 * The membership runbooks of docs/guides/operations.md, run as written: every block marked
 * `<!-- runbook: ... -->` there runs in bash (etcdctl and curl forms) against one real cluster,
 * which grows from three members to five, shrinks back to three (the leader removed once), has a
 * member with a wiped data directory replaced (it catches up by snapshot) and has members moved to
 * new peer addresses. After each runbook every member lists the same configuration and every
 * write acknowledged before it is readable through every member.
 *
 * `KV_RUNBOOK_ENGINE=etcd` runs the same steps against a real etcd 3.4 instead: the oracle for the
 * commands themselves. Skipped with a message when etcdctl or jq is missing.
 */

import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { etcdctlPresent } from './support/etcd-binaries.js';
import type { MemberEngine, PlannedMember } from './support/membership-cluster.js';
import { MembershipCluster, exitOf } from './support/membership-cluster.js';
import { sharedCliPath } from './support/process-cluster.js';

const run = promisify(execFile);
const engine: MemberEngine = process.env.KV_RUNBOOK_ENGINE === 'etcd' ? 'etcd' : 'kv-node';
const guide = new URL('../../../docs/guides/operations.md', import.meta.url);
const b64 = (text: string): string => Buffer.from(text).toString('base64');

function hasJq(): boolean {
  try {
    execFileSync('jq', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const jqPresent = hasJq();
if (!jqPresent) console.warn('jq not found on PATH: the runbook tests are skipped');

/** The shell blocks of the guide marked `<!-- runbook: name -->`, by name, dedented. */
function runbookBlocks(markdown: string): Map<string, string> {
  const blocks = new Map<string, string>();
  const marker = /^([ \t]*)<!-- runbook: ([\w.-]+) -->\n[ \t]*```sh\n([\s\S]*?)\n[ \t]*```/gm;
  for (const match of markdown.matchAll(marker)) {
    const indent = (match[1] as string).length;
    const body = (match[3] as string)
      .split('\n')
      .map((line) => line.slice(Math.min(indent, line.length - line.trimStart().length)))
      .join('\n');
    blocks.set(match[2] as string, body);
  }
  return blocks;
}

const blocks = runbookBlocks(readFileSync(guide, 'utf8'));

let cluster: MembershipCluster;
/** Members in the configuration now, voters all, in the order they joined. */
let voters: PlannedMember[] = [];
/** Every write acknowledged so far: key to value. */
const acknowledged = new Map<string, string>();

/** Runs the guide's block `name` in bash with the runbook variables; resolves with stdout. */
async function runbook(name: string, member: PlannedMember): Promise<string> {
  const script = blocks.get(name);
  if (script === undefined) throw new Error(`operations.md has no block marked "runbook: ${name}"`);
  const running = voters.filter((voter) => MembershipCluster.running(voter));
  const env = {
    PATH: process.env.PATH,
    ETCDCTL_API: '3',
    ETCDCTL_DIAL_TIMEOUT: '5s',
    ETCDCTL_COMMAND_TIMEOUT: '10s',
    ENDPOINTS: running.map((voter) => voter.clientUrl).join(','),
    E: (running.find((voter) => voter !== member) ?? running[0])!.clientUrl,
    NAME: member.name,
    PEER_URL: member.peerUrl,
  };
  try {
    const { stdout } = await run('bash', ['-eo', 'pipefail', '-c', script], {
      env,
      timeout: 60_000,
    });
    return stdout;
  } catch (error) {
    const failed = error as Error & { stdout?: string; stderr?: string };
    throw new Error(
      `runbook block ${name} failed: ${failed.message}\nstdout: ${failed.stdout}\nstderr: ${failed.stderr}`,
    );
  }
}

async function postJson(url: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(url, {
    method: 'POST',
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  });
  const answer = (await response.json()) as Record<string, unknown>;
  if (!response.ok) throw new Error(`${url}: ${response.status} ${JSON.stringify(answer)}`);
  return answer;
}

async function eventually<T>(
  what: string,
  attempt: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await attempt();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`${what}: not within ${timeoutMs} ms (${String(last)})`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Puts `count` keys through the running voters in turn and records them as acknowledged. */
async function writeKeys(prefix: string, count: number): Promise<void> {
  const running = voters.filter((voter) => MembershipCluster.running(voter));
  for (let index = 0; index < count; index++) {
    const key = `${prefix}/${index}`;
    const value = `${prefix}-value-${index}`;
    const through = running[index % running.length] as PlannedMember;
    await eventually(`put ${key}`, async () =>
      postJson(`${through.clientUrl}/v3/kv/put`, { key: b64(key), value: b64(value) }),
    );
    acknowledged.set(key, value);
  }
}

interface ListedMember {
  ID: string;
  name?: string;
  peerURLs?: string[];
  isLearner?: boolean;
}

async function memberList(through: PlannedMember): Promise<ListedMember[]> {
  const answer = await postJson(`${through.clientUrl}/v3/cluster/member/list`, {});
  return (answer.members as ListedMember[] | undefined) ?? [];
}

/** The name of the member that leads, as the running voters see it. */
async function leaderName(): Promise<string> {
  return eventually('a leader', async () => {
    for (const voter of voters.filter((member) => MembershipCluster.running(member))) {
      const status = await postJson(`${voter.clientUrl}/v3/maintenance/status`, {});
      const leader = typeof status.leader === 'string' ? status.leader : '0';
      if (leader === '0') continue;
      const named = (await memberList(voter)).find((member) => member.ID === leader);
      if (named?.name !== undefined && named.name !== '') return named.name;
    }
    return undefined;
  });
}

/**
 * Every voter lists exactly the voters (names, peer URLs, none a learner), and every write
 * acknowledged so far reads back with its value through every voter.
 */
async function expectConverged(): Promise<void> {
  const expected = voters
    .map((voter) => ({ name: voter.name, peerURLs: [voter.peerUrl], isLearner: false }))
    .sort((a, b) => a.name.localeCompare(b.name));
  for (const voter of voters) {
    await eventually(`${voter.name} lists the configuration`, async () => {
      const listed = (await memberList(voter))
        .map((member) => ({
          name: member.name ?? '',
          peerURLs: member.peerURLs ?? [],
          isLearner: member.isLearner === true,
        }))
        .sort((a, b) => a.name.localeCompare(b.name));
      return JSON.stringify(listed) === JSON.stringify(expected) ? true : undefined;
    });
    const answer = await eventually(`a read through ${voter.name}`, () =>
      postJson(`${voter.clientUrl}/v3/kv/range`, {
        key: b64('w'),
        range_end: b64('x'),
      }),
    );
    const read = new Map(
      ((answer.kvs as { key: string; value: string }[] | undefined) ?? []).map((kv) => [
        Buffer.from(kv.key, 'base64').toString(),
        Buffer.from(kv.value, 'base64').toString(),
      ]),
    );
    expect(read, `keys read through ${voter.name}`).toEqual(acknowledged);
  }
}

/** The `ETCD_*` settings `etcdctl member add` prints, as environment variables. */
function printedSettings(output: string): Record<string, string> {
  const settings: Record<string, string> = {};
  for (const match of output.matchAll(/^(ETCD_[A-Z_]+)="([^"]*)"$/gm)) {
    settings[match[1] as string] = match[2] as string;
  }
  return settings;
}

/** etcd refuses reconfiguration until every member has been connected for 5 s. */
async function settle(): Promise<void> {
  if (engine === 'etcd') await new Promise((resolve) => setTimeout(resolve, 5500));
}

/** Adds `member` as a learner with the etcdctl or curl block, starts it, promotes it. */
async function addAndPromote(member: PlannedMember, form: 'etcdctl' | 'curl'): Promise<void> {
  const added = await runbook(`add.${form}`, member);
  if (form === 'etcdctl') {
    expect(added).toMatch(/^Member +[0-9a-f]+ added to cluster +[0-9a-f]+$/m);
    const settings = printedSettings(added);
    expect(Object.keys(settings).sort()).toEqual([
      'ETCD_INITIAL_ADVERTISE_PEER_URLS',
      'ETCD_INITIAL_CLUSTER',
      'ETCD_INITIAL_CLUSTER_STATE',
      'ETCD_NAME',
    ]);
    expect(settings.ETCD_INITIAL_CLUSTER_STATE).toBe('existing');
    // As the guide says: the printed lines, exported, are the joining member's settings (it
    // learns the cluster id and its own id from the members).
    cluster.start(member, { env: settings });
  } else {
    const initialCluster = added.trim();
    expect(initialCluster).toMatch(/^([\w-]+=http:\/\/127\.0\.0\.1:\d+,?)+$/);
    cluster.start(member, { initialCluster: { value: initialCluster, state: 'existing' } });
  }
  const learners = (await memberList(voters[0] as PlannedMember)).filter(
    (listed) => listed.isLearner,
  );
  expect(learners.map((listed) => listed.peerURLs)).toEqual([[member.peerUrl]]);
  await runbook(`promote.${form}`, member);
  voters.push(member);
  await settle();
}

/** Removes `member` with the etcdctl or curl block and waits for its process to stop. */
async function remove(member: PlannedMember, form: 'etcdctl' | 'curl'): Promise<void> {
  await runbook(`remove.${form}`, member);
  voters = voters.filter((voter) => voter !== member);
  // A removed member stops by itself.
  const exit = await Promise.race([
    exitOf(member.process!),
    new Promise((resolve) => setTimeout(() => resolve('still running'), 20_000)),
  ]);
  expect(exit, `${member.name} after its removal:\n${member.output.join('')}`).not.toBe(
    'still running',
  );
  await rm(member.dataDir, { recursive: true, force: true });
}

describe.skipIf(!etcdctlPresent || !jqPresent)(`the membership runbooks (${engine})`, () => {
  beforeAll(async () => {
    // A small snapshot count, so the leader has released its early log when a member is replaced.
    cluster = await MembershipCluster.create(engine, sharedCliPath(), 20);
    voters = [await cluster.plan('a'), await cluster.plan('b'), await cluster.plan('c')];
    const initialCluster = voters.map((voter) => `${voter.name}=${voter.peerUrl}`).join(',');
    for (const voter of voters) {
      cluster.start(voter, { initialCluster: { value: initialCluster, state: 'new' } });
    }
    await leaderName();
    await settle();
    await writeKeys('w/start', 5);
  }, 60_000);

  afterAll(async () => {
    await cluster?.destroy();
  });

  it('marks every block the test runs', () => {
    expect([...blocks.keys()].sort()).toEqual([
      'add.curl',
      'add.etcdctl',
      'promote.curl',
      'promote.etcdctl',
      'remove.curl',
      'remove.etcdctl',
      'update.curl',
      'update.etcdctl',
    ]);
  });

  it('grows from three members to five: add a learner, start it, promote it', async () => {
    await addAndPromote(await cluster.plan('d'), 'etcdctl');
    await writeKeys('w/grown-d', 3);
    await addAndPromote(await cluster.plan('e'), 'curl');
    await writeKeys('w/grown-e', 3);
    expect(voters.map((voter) => voter.name)).toEqual(['a', 'b', 'c', 'd', 'e']);
    await expectConverged();
  }, 120_000);

  it('shrinks from five members to three, removing the leader first', async () => {
    const leader = cluster.members.get(await leaderName())!;
    await remove(leader, 'etcdctl');
    await writeKeys('w/shrunk-1', 3);
    const newLeader = await leaderName();
    const follower = voters.find(
      (voter) => (voter.name === 'd' || voter.name === 'e') && voter.name !== newLeader,
    )!;
    await remove(follower, 'curl');
    await writeKeys('w/shrunk-2', 3);
    expect(voters).toHaveLength(3);
    await expectConverged();
  }, 120_000);

  it('replaces a member whose data directory was wiped; it catches up by snapshot', async () => {
    await writeKeys('w/before-replace', 50);
    const leader = await leaderName();
    const lost = voters.find((voter) => voter.name !== leader)!;
    await cluster.stop(lost);
    await rm(lost.dataDir, { recursive: true, force: true });
    if (engine === 'kv-node') {
      // Restarted under its old name with an empty directory, it is refused, pointing here.
      const child = cluster.start(lost, {
        initialCluster: {
          value: voters.map((voter) => `${voter.name}=${voter.peerUrl}`).join(','),
          state: 'existing',
        },
      });
      expect(await exitOf(child), lost.output.join('')).toBe(1);
      expect(lost.output.join('')).toContain('operations.md#replace-a-member');
      // The leader has released its early log: the replacement can only catch up by snapshot.
      const leaderMember = cluster.members.get(leader)!;
      const status = (await (await fetch(`${leaderMember.clientUrl}/v1/cluster`)).json()) as {
        low_water_mark: number;
      };
      expect(status.low_water_mark).toBeGreaterThan(0);
    }
    await runbook('remove.etcdctl', lost);
    voters = voters.filter((voter) => voter !== lost);
    await writeKeys('w/while-replacing', 3);
    // A new disk at the same peer URL: the member added there gets a new id.
    cluster.freshDataDir(lost, 'replacement');
    await addAndPromote(lost, 'etcdctl');
    await writeKeys('w/replaced', 3);
    await expectConverged();
  }, 120_000);

  it('moves members to new peer addresses, keeping their data directories', async () => {
    const leader = await leaderName();
    const [first, second] = voters.filter((voter) => voter.name !== leader) as [
      PlannedMember,
      PlannedMember,
    ];
    for (const [member, form] of [
      [first, 'etcdctl'],
      [second, 'curl'],
    ] as const) {
      await cluster.movePeerUrl(member);
      await runbook(`update.${form}`, member);
      await cluster.stop(member, 'SIGTERM');
      // Its other flags as before: the initial cluster and advertised URL it first joined with.
      const joinedAt = (voter: PlannedMember): string =>
        voter === member ? member.joinedPeerUrl! : voter.peerUrl;
      cluster.start(member, {
        initialCluster: {
          value: voters.map((voter) => `${voter.name}=${joinedAt(voter)}`).join(','),
          state: 'existing',
        },
      });
      await writeKeys(`w/moved-${member.name}`, 3);
      await expectConverged();
      await settle();
    }
  }, 120_000);
});
