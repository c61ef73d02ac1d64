/**
 * Membership changes with real kv-node processes, through etcd's JSON routes, on one cluster that
 * changes step by step (the steps depend on each other; each `it` is one step): bad input first
 * (refused, nothing changed), then a learner joins, catches up and is promoted; a follower and
 * then the leader are removed; a member restarted on a wiped data directory under its old name is
 * refused, and the runbook (remove it, add a new member at the same peer URL with a new data
 * directory: it learns its fresh id and the cluster id from the members) brings the cluster back
 * with every acknowledged key. A second cluster shows a member added as a voter promoted by a
 * leader elected after the one that added it was killed.
 */

import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { etcdctlPresent } from './support/etcd-binaries.js';
import type { ProcessMember } from './support/process-cluster.js';
import { freePort } from './support/process-cluster.js';
import { startedCluster } from './support/started-cluster.js';
import type { StartedCluster } from './support/started-cluster.js';

interface ListedMember {
  ID: string;
  name?: string;
  peerURLs: string[];
  clientURLs?: string[];
  isLearner?: boolean;
}

interface Answer {
  status: number;
  body: {
    header?: { cluster_id: string; member_id: string };
    member?: ListedMember;
    members?: ListedMember[];
    error?: string;
    code?: number;
  };
}

async function post(member: ProcessMember, path: string, body: unknown): Promise<Answer> {
  let response: Response;
  try {
    response = await fetch(`${member.clientUrl}${path}`, {
      method: 'POST',
      body: JSON.stringify(body),
    });
  } catch (error) {
    throw new Error(`POST ${path} to ${member.name}: ${String(error)}\n${member.output.join('')}`);
  }
  return { status: response.status, body: (await response.json()) as Answer['body'] };
}

const base64 = (text: string): string => Buffer.from(text).toString('base64');

async function put(member: ProcessMember, key: string, value: string): Promise<void> {
  const answer = await post(member, '/v3/kv/put', { key: base64(key), value: base64(value) });
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
}

/** A linearizable read of `key` on `member`. */
async function read(member: ProcessMember, key: string): Promise<string | undefined> {
  const answer = (await post(member, '/v3/kv/range', { key: base64(key) })) as unknown as {
    status: number;
    body: { kvs?: { value: string }[] };
  };
  expect(answer.status).toBe(200);
  const value = answer.body.kvs?.[0]?.value;
  return value === undefined ? undefined : Buffer.from(value, 'base64').toString();
}

async function members(member: ProcessMember): Promise<ListedMember[]> {
  const answer = await post(member, '/v3/cluster/member/list', {});
  expect(answer.status).toBe(200);
  return answer.body.members ?? [];
}

/** Retries `attempt` every 100 ms until it returns a value, for at most `timeoutMs`. */
async function eventually<T>(
  what: string,
  attempt: () => Promise<T | undefined>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let last: unknown;
  while (performance.now() < deadline) {
    try {
      const value = await attempt();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(
    `timed out waiting for ${what}${last === undefined ? '' : `: ${last instanceof Error ? last.message : JSON.stringify(last)}`}`,
  );
}

function exitOf(member: ProcessMember): Promise<number | null> {
  const child = member.process;
  if (child === undefined) throw new Error(`${member.name} never started`);
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${member.name} did not exit; output:\n${member.output.join('')}`)),
      20_000,
    );
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/** The ids of the members `member`'s own status shows as learners (the configuration in force). */
async function learnersInForce(member: ProcessMember): Promise<string[]> {
  const view = (await (await fetch(`${member.clientUrl}/v1/cluster`)).json()) as {
    members: { id: string; is_learner: boolean }[];
  };
  return view.members.filter((listed) => listed.is_learner).map((listed) => listed.id);
}

function live(started: StartedCluster): ProcessMember[] {
  return started.cluster.members.filter((member) => {
    const child = member.process;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  });
}

let started: StartedCluster;
let clusterIdHex: string;
const joiners: { dataRoot: string }[] = [];
const acknowledged = new Map<string, string>();

/** Plans a member of `into` that joins with `--initial-cluster-state existing` (not started). */
async function planJoiner(
  into: StartedCluster,
  name: string,
  others: ProcessMember[],
  givenPeerPort?: number,
): Promise<ProcessMember> {
  const [clientPort, peerPort] = [await freePort(), givenPeerPort ?? (await freePort())];
  const dataRoot = await mkdtemp(`${into.cluster.root}/join-`);
  joiners.push({ dataRoot });
  const template = into.first.args;
  const flag = (name: string): string => template[template.indexOf(name) + 1] as string;
  const initialCluster = [
    ...others.map((member) => `${member.name}=http://127.0.0.1:${member.peerPort}`),
    `${name}=http://127.0.0.1:${peerPort}`,
  ].join(',');
  const member: ProcessMember = {
    name,
    clientUrl: `http://127.0.0.1:${clientPort}`,
    peerPort,
    dataDir: `${dataRoot}/data`,
    args: [
      '--name',
      name,
      '--data-dir',
      `${dataRoot}/data`,
      '--listen-client-urls',
      `http://127.0.0.1:${clientPort}`,
      '--listen-peer-urls',
      `http://127.0.0.1:${peerPort}`,
      '--initial-cluster',
      initialCluster,
      '--initial-cluster-state',
      'existing',
      '--heartbeat-interval',
      flag('--heartbeat-interval'),
      '--election-timeout',
      flag('--election-timeout'),
      '--log-level',
      'info',
      '--peer-secret-file',
      flag('--peer-secret-file'),
    ],
    process: undefined,
    output: [],
  };
  into.cluster.members.push(member);
  return member;
}

async function writeSome(prefix: string, count: number): Promise<void> {
  const leader = await started.cluster.leader();
  for (let index = 0; index < count; index++) {
    const key = `${prefix}-${index}`;
    await put(leader, key, `v-${key}`);
    acknowledged.set(key, `v-${key}`);
  }
}

async function expectEveryAcknowledgedKey(member: ProcessMember): Promise<void> {
  for (const [key, value] of acknowledged) expect(await read(member, key)).toBe(value);
}

describe('membership changes with real processes', () => {
  beforeAll(async () => {
    started = await startedCluster(3, { extraArgs: ['--snapshot-count', '50'] });
    const list = await post(started.first, '/v3/cluster/member/list', {});
    clusterIdHex = BigInt(list.body.header?.cluster_id ?? '0').toString(16);
    await writeSome('before', 120);
  }, 60_000);

  afterAll(async () => {
    await started.stop();
    await Promise.all(
      joiners.map(({ dataRoot }) => rm(dataRoot, { recursive: true, force: true })),
    );
  });

  it('refuses bad input in etcd’s words and changes nothing', async () => {
    const leader = await started.cluster.leader();
    const before = await members(leader);
    const voter = before[0] as ListedMember;
    const cases: [string, unknown, number, string][] = [
      ['remove', { ID: '12345' }, 404, 'etcdserver: member not found'],
      ['promote', { ID: '12345' }, 404, 'etcdserver: member not found'],
      [
        'update',
        { ID: '12345', peerURLs: ['http://127.0.0.1:1'] },
        404,
        'etcdserver: member not found',
      ],
      ['add', { peerURLs: ['not a url'] }, 400, 'etcdserver: given member URLs are invalid'],
      ['add', { peerURLs: [] }, 400, 'etcdserver: given member URLs are invalid'],
      [
        'add',
        { peerURLs: ['http://127.0.0.1:1/path'] },
        400,
        'etcdserver: given member URLs are invalid',
      ],
      [
        'add',
        { peerURLs: voter.peerURLs, isLearner: true },
        412,
        'etcdserver: Peer URLs already exists',
      ],
      ['promote', { ID: voter.ID }, 412, 'etcdserver: can only promote a learner member'],
    ];
    for (const [route, body, status, error] of cases) {
      const answer = await post(leader, `/v3/cluster/member/${route}`, body);
      expect([route, answer.status, answer.body.error]).toEqual([route, status, error]);
    }
    // A follower forwards to the leader and answers the same.
    const follower = live(started).find((member) => member !== leader) as ProcessMember;
    const forwarded = await post(follower, '/v3/cluster/member/remove', { ID: '12345' });
    expect([forwarded.status, forwarded.body.code]).toEqual([404, 5]);
    expect(await members(leader)).toEqual(before);
  });

  it('refuses a change while another is in flight, in etcd’s words, and makes the one taken', async () => {
    const leader = await started.cluster.leader();
    const before = await members(leader);
    const ports = [await freePort(), await freePort(), await freePort(), await freePort()];
    // Sent together: the leader takes the first and refuses the rest until it is applied.
    const answers = await Promise.all(
      ports.map((port) =>
        post(leader, '/v3/cluster/member/add', { peerURLs: [`http://127.0.0.1:${port}`] }),
      ),
    );
    const taken = answers.filter((answer) => answer.status === 200);
    const refused = answers.filter((answer) => answer.status !== 200);
    expect(taken.length).toBeGreaterThanOrEqual(1);
    expect(refused.length).toBeGreaterThanOrEqual(1);
    for (const answer of refused) {
      expect([answer.status, answer.body.code, answer.body.error]).toEqual([
        503,
        14,
        'etcdserver: unhealthy cluster',
      ]);
    }
    expect(await members(leader)).toHaveLength(before.length + taken.length);
    // Taken out again, one at a time (never started: still learners, costing no quorum).
    for (const answer of taken) {
      const removed = await post(leader, '/v3/cluster/member/remove', {
        ID: answer.body.member?.ID,
      });
      expect(removed.status, JSON.stringify(removed.body)).toBe(200);
    }
    expect(await members(leader)).toEqual(before);
  });

  it('adds a learner that catches up, then promotes it; writes stay linearizable on all', async () => {
    const leader = await started.cluster.leader();
    const follower = live(started).find((member) => member !== leader);
    const joiner = await planJoiner(started, 'm4', live(started));
    const added = await post(follower as ProcessMember, '/v3/cluster/member/add', {
      peerURLs: [`http://127.0.0.1:${joiner.peerPort}`],
      isLearner: true,
    });
    expect(added.status, JSON.stringify(added.body)).toBe(200);
    expect(added.body.member).toMatchObject({
      peerURLs: [`http://127.0.0.1:${joiner.peerPort}`],
      isLearner: true,
    });
    expect(added.body.members).toHaveLength(4);
    const learnerId = added.body.member?.ID as string;
    // One learner at a time, as etcd 3.4 allows.
    const second = await post(leader, '/v3/cluster/member/add', {
      peerURLs: [`http://127.0.0.1:${await freePort()}`],
      isLearner: true,
    });
    expect([second.status, second.body.error]).toEqual([
      412,
      'etcdserver: too many learner members in cluster',
    ]);
    // kv-node's own view of the cluster lists the learner, marked as one.
    const view = (await (await fetch(`${leader.clientUrl}/v1/cluster`)).json()) as {
      members: { id: string; is_learner: boolean }[];
    };
    expect(view.members.map((member) => [member.id === learnerId, member.is_learner])).toEqual(
      expect.arrayContaining([
        [true, true],
        [false, false],
      ]),
    );
    expect(view.members.filter((member) => member.is_learner)).toHaveLength(1);
    // Not in sync yet: it has not even started.
    const early = await post(started.first, '/v3/cluster/member/promote', { ID: learnerId });
    expect([early.status, early.body.error]).toEqual([
      412,
      'etcdserver: can only promote a learner member which is in sync with leader',
    ]);
    started.cluster.start(joiner);
    await started.cluster.waitReady([joiner]);
    await writeSome('with-learner', 10);
    await expectEveryAcknowledgedKey(joiner);
    await eventually('promotion', async () => {
      const answer = await post(started.first, '/v3/cluster/member/promote', { ID: learnerId });
      return answer.status === 200 ? answer : undefined;
    });
    const listed = await eventually('the new member’s name', async () => {
      const list = await members(joiner);
      return list.find((member) => member.ID === learnerId)?.name === 'm4' ? list : undefined;
    });
    expect(listed.filter((member) => member.isLearner === true)).toEqual([]);
    expect(listed).toHaveLength(4);
    await put(joiner, 'from-m4', 'yes');
    acknowledged.set('from-m4', 'yes');
    for (const member of live(started)) await expectEveryAcknowledgedKey(member);
  }, 60_000);

  it('an added member shows its own name and, restarted, dials its peers only by their ids', async () => {
    const joiner = started.cluster.members.find((member) => member.name === 'm4') as ProcessMember;
    const own = (await (await fetch(`${joiner.clientUrl}/v1/cluster`)).json()) as { name: string };
    expect(own.name).toBe('m4');
    // Restarted with its data and the flags it joined with: it knows its peers from its data,
    // as the cluster knows them (no name of --initial-cluster that is not a peer's id).
    await started.cluster.kill(joiner, 'SIGTERM');
    for (const member of live(started)) member.output.length = 0;
    started.cluster.start(joiner);
    await started.cluster.waitReady([joiner]);
    await writeSome('after-restart', 10);
    await expectEveryAcknowledgedKey(joiner);
    const rejections = live(started)
      .flatMap((member) => member.output.join('').split('\n'))
      .filter((line) => line.includes('handshake rejected'));
    expect(rejections).toEqual([]);
  }, 60_000);

  it('removes a follower: it stops with a clear line and a non-zero exit', async () => {
    const leader = await started.cluster.leader();
    const follower = live(started).find(
      (member) => member !== leader && member.name !== 'm4',
    ) as ProcessMember;
    const id = (await members(leader)).find((member) => member.name === follower.name)?.ID;
    const exited = exitOf(follower);
    const answer = await post(leader, '/v3/cluster/member/remove', { ID: id });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.body.members?.map((member) => member.ID)).not.toContain(id);
    expect(await exited).toBe(1);
    expect(follower.output.join('')).toContain('removed from the cluster');
    await writeSome('after-follower-removed', 5);
    // Restarted with its old data directory, it learns from a member that it was removed.
    started.cluster.start(follower);
    expect(await exitOf(follower)).toBe(1);
    expect(follower.output.join('')).toContain('this member was removed from the cluster');
  }, 30_000);

  it('removes the leader: the rest elect another and go on', async () => {
    const leader = await started.cluster.leader();
    const id = (await members(leader)).find((member) => member.name === leader.name)?.ID;
    const exited = exitOf(leader);
    const answer = await post(leader, '/v3/cluster/member/remove', { ID: id });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(await exited).toBe(1);
    expect(leader.output.join('')).toContain('removed from the cluster');
    const next = await started.cluster.leader();
    expect(next).not.toBe(leader);
    expect((await members(next)).map((member) => member.ID)).not.toContain(id);
    await writeSome('after-leader-removed', 5);
    for (const member of live(started)) await expectEveryAcknowledgedKey(member);
  }, 30_000);

  it('refuses a member restarted on a wiped data directory; remove and add brings it back', async () => {
    // Two voters now: grow to three first, so that one can be lost without losing the quorum.
    const leader = await started.cluster.leader();
    const third = await planJoiner(started, 'm5', live(started));
    const added = await post(leader, '/v3/cluster/member/add', {
      peerURLs: [`http://127.0.0.1:${third.peerPort}`],
    });
    expect(added.status, JSON.stringify(added.body)).toBe(200);
    started.cluster.start(third);
    await started.cluster.waitReady([third]);
    // Added as a voter (isLearner false): promoted by the leader once in sync (listed as a
    // voter from the start, as etcd lists it; kv-node's own status shows the promotion).
    await eventually('m5 promoted', async () =>
      (await learnersInForce(leader)).includes(added.body.member?.ID as string) ? undefined : true,
    );
    await writeSome('three-voters', 5);
    // The disk of m5 dies: it comes back under its old name with an empty data directory.
    await started.cluster.kill(third);
    await rm(third.dataDir, { recursive: true, force: true });
    started.cluster.start(third);
    expect(await exitOf(third)).toBe(1);
    expect(third.output.join('')).toContain('docs/guides/operations.md#replace-a-member');
    // The runbook: remove it, add a new member with a new data directory (and new peer URLs).
    const survivor = await started.cluster.leader();
    const removed = await post(survivor, '/v3/cluster/member/remove', {
      ID: added.body.member?.ID,
    });
    expect(removed.status, JSON.stringify(removed.body)).toBe(200);
    // At the same peer URL, as etcd allows: the new member gets a fresh id.
    const readded = await post(survivor, '/v3/cluster/member/add', {
      peerURLs: [`http://127.0.0.1:${third.peerPort}`],
      isLearner: true,
    });
    expect(readded.status, JSON.stringify(readded.body)).toBe(200);
    expect(readded.body.member?.ID).not.toBe(added.body.member?.ID);
    // The removed id stays retired.
    const stale = await post(survivor, '/v3/cluster/member/promote', { ID: added.body.member?.ID });
    expect([stale.status, stale.body.error]).toEqual([404, 'etcdserver: member not found']);
    const replacement = await planJoiner(started, 'm6', live(started), third.peerPort);
    // --initial-cluster-id is optional; given, it must name the cluster the members answer for.
    replacement.args.push('--initial-cluster-id', 'abc');
    started.cluster.start(replacement);
    expect(await exitOf(replacement)).toBe(1);
    expect(replacement.output.join('')).toContain(
      `--initial-cluster-id abc does not match the cluster the members of --initial-cluster belong to (${clusterIdHex})`,
    );
    replacement.args.splice(-2, 2, '--initial-cluster-id', clusterIdHex);
    started.cluster.start(replacement);
    await started.cluster.waitReady([replacement]);
    await expectEveryAcknowledgedKey(replacement);
    expect(
      (await members(survivor)).find((member) => member.ID === readded.body.member?.ID),
    ).toMatchObject({
      name: 'm6',
      isLearner: true,
    });
  }, 60_000);
});

/**
 * A member added as a voter is a learner until it is in sync, but the request to make it a voter
 * is replicated: when the leader that took it dies before the member has even started, the next
 * leader promotes it. etcd's member list shows it as a voter throughout, as etcd makes it one at
 * once; kv-node's own status shows the learner it is until the promotion.
 */
describe('a member added as a voter, promoted by a later leader', () => {
  let cluster: StartedCluster;

  beforeAll(async () => {
    cluster = await startedCluster(3);
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  /** Ids as `etcdctl member list` prints them: hexadecimal. */
  async function etcdctlLearnerFlags(member: ProcessMember): Promise<Map<string, string>> {
    const { stdout } = await promisify(execFile)(
      'etcdctl',
      [
        `--endpoints=${member.clientUrl}`,
        '--dial-timeout=5s',
        '--command-timeout=10s',
        'member',
        'list',
      ],
      { env: { ...process.env, ETCDCTL_API: '3' } },
    );
    const lines = stdout.trim().split('\n');
    return new Map(
      lines.map((line) => [line.split(', ')[0] as string, line.split(', ').pop() as string]),
    );
  }

  /** Checks that `member` lists `id` as a voter, over JSON and (when present) etcdctl's gRPC. */
  async function expectListedAsVoter(member: ProcessMember, id: string): Promise<void> {
    const listed = (await members(member)).find((candidate) => candidate.ID === id);
    expect(listed, `${member.name} lists ${id}`).toBeDefined();
    expect(listed?.isLearner === true).toBe(false);
    if (etcdctlPresent) {
      expect((await etcdctlLearnerFlags(member)).get(BigInt(id).toString(16))).toBe('false');
    }
  }

  it('is promoted by the leader elected after the one that added it was killed', async () => {
    const leader = await cluster.cluster.leader();
    const survivors = live(cluster).filter((member) => member !== leader);
    const joiner = await planJoiner(cluster, 'v4', survivors);
    const added = await post(leader, '/v3/cluster/member/add', {
      peerURLs: [`http://127.0.0.1:${joiner.peerPort}`],
    });
    expect(added.status, JSON.stringify(added.body)).toBe(200);
    const id = added.body.member?.ID as string;
    expect(added.body.member?.isLearner === true).toBe(false);
    // A learner in the configuration (it has not started, so it costs no quorum).
    expect(await learnersInForce(leader)).toEqual([id]);
    for (const member of live(cluster)) await expectListedAsVoter(member, id);

    await cluster.cluster.kill(leader);
    const next = await cluster.cluster.leader();
    expect(next).not.toBe(leader);
    await expectListedAsVoter(next, id);
    expect(await learnersInForce(next)).toEqual([id]);

    cluster.cluster.start(joiner);
    await cluster.cluster.waitReady([joiner]);
    await expectListedAsVoter(next, id);
    await eventually('the new leader’s promotion of v4', async () =>
      (await learnersInForce(next)).length === 0 ? true : undefined,
    );
    for (const member of live(cluster)) {
      await expectListedAsVoter(member, id);
      await eventually(`${member.name} applying the promotion`, async () =>
        (await learnersInForce(member)).length === 0 ? true : undefined,
      );
    }
    // Four voters, three of them up: the promoted member counts for the quorum of a write.
    await put(joiner, 'after-promotion', 'yes');
    expect(await read(next, 'after-promotion')).toBe('yes');
  }, 90_000);
});
