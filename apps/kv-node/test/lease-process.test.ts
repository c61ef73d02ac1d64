/**
 * Leases against real kv-node processes (three members on loopback): grant, put with a lease,
 * keep-alive, time-to-live with keys and revoke, each asked of a follower (forwarded to the
 * leader); a lease that is no longer kept alive expires and its keys are deleted in one revision;
 * a lease kept alive survives the leader's SIGKILL (the new leader extends every lease by an
 * election timeout). Expiry is awaited by polling with a generous bound, never timed.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProcessCluster, ProcessMember } from './support/process-cluster.js';
import type { StartedCluster } from './support/started-cluster.js';
import { startedCluster } from './support/started-cluster.js';

const b64 = (text: string): string => Buffer.from(text).toString('base64');
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

let started: StartedCluster | undefined;
let cluster: ProcessCluster;

interface Header {
  header?: { revision?: string };
}

async function post(
  member: ProcessMember,
  path: string,
  body: unknown,
): Promise<{ status: number; body: Record<string, unknown> & Header }> {
  const response = await fetch(`${member.clientUrl}${path}`, {
    method: 'POST',
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** Retries a request while the cluster has no leader (503), as a client would. */
async function postWhileElecting(
  member: ProcessMember,
  path: string,
  body: unknown,
): Promise<{ status: number; body: Record<string, unknown> & Header }> {
  for (let attempt = 0; ; attempt++) {
    const answer = await post(member, path, body);
    if (answer.status !== 503 || attempt >= 100) return answer;
    await sleep(100);
  }
}

async function keyExists(member: ProcessMember, key: string): Promise<boolean> {
  const { status, body } = await postWhileElecting(member, '/v3/kv/range', { key: b64(key) });
  expect(status).toBe(200);
  return body.kvs !== undefined;
}

/** Polls until `key` is gone; fails after `boundMs` (a generous bound, not a timing claim). */
async function waitUntilDeleted(member: ProcessMember, key: string, boundMs = 30_000) {
  const deadline = Date.now() + boundMs;
  while (await keyExists(member, key)) {
    if (Date.now() > deadline) throw new Error(`${key} still exists after ${boundMs} ms`);
    await sleep(200);
  }
}

async function follower(): Promise<ProcessMember> {
  const leader = await cluster.leader();
  const other = cluster.members.find(
    (member) => member !== leader && member.process?.exitCode === null,
  );
  if (other === undefined) throw new Error('no follower');
  return other;
}

beforeAll(async () => {
  started = await startedCluster(3);
  cluster = started.cluster;
}, 120_000);

afterAll(() => started?.stop());

describe('leases on a three-member cluster', { timeout: 120_000 }, () => {
  it('grant, put with a lease, keep-alive, time-to-live with keys and revoke via a follower', async () => {
    const member = await follower();
    const grant = await post(member, '/v3/lease/grant', { TTL: 60 });
    expect(grant.status).toBe(200);
    const id = grant.body.ID as string;
    expect(grant.body.TTL).toBe('60');
    for (const key of ['svc/a', 'svc/b']) {
      const put = await post(member, '/v3/kv/put', { key: b64(key), value: b64('up'), lease: id });
      expect(put.status).toBe(200);
    }
    const range = await post(member, '/v3/kv/range', { key: b64('svc/a') });
    expect(range.body.kvs).toEqual([expect.objectContaining({ lease: id })]);
    const keepAlive = await post(member, '/v3/lease/keepalive', { ID: id });
    expect(keepAlive.body.result).toMatchObject({ ID: id, TTL: '60' });
    const timeToLive = await post(member, '/v3/lease/timetolive', { ID: id, keys: true });
    expect(timeToLive.body).toMatchObject({
      ID: id,
      grantedTTL: '60',
      keys: [b64('svc/a'), b64('svc/b')],
    });
    const leases = await post(member, '/v3/lease/leases', {});
    expect(leases.body.leases).toContainEqual({ ID: id });
    const before = Number(range.body.header?.revision);
    const revoke = await post(member, '/v3/lease/revoke', { ID: id });
    expect(revoke.status).toBe(200);
    // Both keys went in one revision.
    expect(Number(revoke.body.header?.revision)).toBe(before + 1);
    expect(await keyExists(member, 'svc/a')).toBe(false);
    expect(await keyExists(member, 'svc/b')).toBe(false);
    const gone = await post(member, '/v3/lease/timetolive', { ID: id });
    expect(gone.body.TTL).toBe('-1');
  });

  it('refuses bad input with etcd errors', async () => {
    const member = await follower();
    const huge = await post(member, '/v3/lease/grant', { TTL: '9000000001' });
    expect([huge.status, huge.body.error]).toEqual([400, 'etcdserver: too large lease TTL']);
    // A negative or zero TTL gets etcd's minimum (1 s with a 500 ms election timeout).
    const negative = await post(member, '/v3/lease/grant', { TTL: -5 });
    expect(negative.status).toBe(200);
    expect(negative.body.TTL).toBe('1');
    const unknownKeepAlive = await post(member, '/v3/lease/keepalive', { ID: '424242' });
    expect(unknownKeepAlive.body.result).not.toHaveProperty('TTL');
    const unknownRevoke = await post(member, '/v3/lease/revoke', { ID: '424242' });
    expect([unknownRevoke.status, unknownRevoke.body.error]).toEqual([
      404,
      'etcdserver: requested lease not found',
    ]);
    const badId = await post(member, '/v3/lease/revoke', { ID: 'x' });
    expect(badId.status).toBe(400);
    const putUnknown = await post(member, '/v3/kv/put', {
      key: b64('orphan'),
      value: b64('v'),
      lease: '424242',
    });
    expect(putUnknown.status).toBe(404);
    expect(await keyExists(member, 'orphan')).toBe(false);
  });

  it('expires a lease no longer kept alive and deletes its keys in one revision', async () => {
    const member = await follower();
    const grant = await post(member, '/v3/lease/grant', { TTL: 2 });
    const id = grant.body.ID as string;
    await post(member, '/v3/kv/put', { key: b64('exp/a'), value: b64('1'), lease: id });
    const last = await post(member, '/v3/kv/put', {
      key: b64('exp/b'),
      value: b64('1'),
      lease: id,
    });
    const before = Number(last.body.header?.revision);
    await waitUntilDeleted(member, 'exp/b');
    expect(await keyExists(member, 'exp/a')).toBe(false);
    const after = await post(member, '/v3/kv/range', { key: b64('exp/'), range_end: b64('exp0') });
    // Nothing else writes here: the expiry's revoke deleted both keys at revision before + 1.
    expect(Number(after.body.header?.revision)).toBe(before + 1);
    const timeToLive = await post(member, '/v3/lease/timetolive', { ID: id });
    expect(timeToLive.body.TTL).toBe('-1');
  });

  it('keeps a lease alive across the leader being killed, then expires it', async () => {
    const leader = await cluster.leader();
    const survivor = cluster.members.find((member) => member !== leader) as ProcessMember;
    // A TTL of 5 s: keep-alives every 300 ms leave a wide margin on a loaded machine.
    const grant = await post(survivor, '/v3/lease/grant', { TTL: 5 });
    const id = grant.body.ID as string;
    await post(survivor, '/v3/kv/put', { key: b64('held'), value: b64('1'), lease: id });
    // Like etcd's client on its keep-alive stream: one every 300 ms, never waiting for the last
    // answer. During the election some are refused (503) or unanswered; the next one follows.
    const sent: Promise<unknown>[] = [];
    const keepAlives = setInterval(() => {
      sent.push(post(survivor, '/v3/lease/keepalive', { ID: id }).catch(() => undefined));
    }, 300);
    await sleep(1000);
    await cluster.kill(leader);
    // Two TTLs and more pass with the holder sending keep-alives through the failover.
    for (let check = 0; check < 12; check++) {
      await sleep(1000);
      expect(await keyExists(survivor, 'held')).toBe(true);
    }
    clearInterval(keepAlives);
    await Promise.all(sent);
    await waitUntilDeleted(survivor, 'held');
    cluster.start(leader);
    await cluster.waitReady([leader]);
  });
});
