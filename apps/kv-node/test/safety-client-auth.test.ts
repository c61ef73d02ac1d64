/**
 * Issue 23, finding 9: anyone who reached the client port could read and write everything. Now
 * etcd's authentication guards it. Real processes, through the JSON gateway: a 3-member cluster
 * where management, authentication and reads go to different members (tokens are valid on every
 * member), then a restart of every member (auth state replayed from the log and a snapshot).
 * With etcd installed, the same calls are also sent to a real etcd 3.4 and the shapes compared.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProcessCluster, ProcessMember } from './support/process-cluster.js';
import type { StartedCluster } from './support/started-cluster.js';
import { startedCluster } from './support/started-cluster.js';
import { etcdPresent } from './support/etcd-binaries.js';
import type { RealEtcd } from './support/real-etcd.js';
import { startRealEtcd } from './support/real-etcd.js';

const b = (text: string): string => Buffer.from(text).toString('base64');

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

async function post(base: string, path: string, body: unknown, token?: string): Promise<Answer> {
  const response = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token === undefined ? {} : { authorization: token }),
    },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** The management calls that set up root and alice (read-write on `alice/`). */
const SETUP: [string, unknown][] = [
  ['/v3/auth/user/add', { name: 'root', password: 'root-pw' }],
  ['/v3/auth/user/grant', { user: 'root', role: 'root' }],
  ['/v3/auth/role/add', { name: 'alice-role' }],
  [
    '/v3/auth/role/grant',
    {
      name: 'alice-role',
      perm: { permType: 'READWRITE', key: b('alice/'), range_end: b('alice0') },
    },
  ],
  ['/v3/auth/user/add', { name: 'alice', password: 'alice-pw' }],
  ['/v3/auth/user/grant', { user: 'alice', role: 'alice-role' }],
  ['/v3/auth/enable', {}],
];

let started: StartedCluster | undefined;
let cluster: ProcessCluster;

beforeAll(async () => {
  // A small snapshot interval so the restart below restores auth from a snapshot too.
  started = await startedCluster(3, {
    extraArgs: ['--auth-scrypt-cost', '10', '--snapshot-count', '5'],
  });
  cluster = started.cluster;
}, 120_000);

afterAll(() => started?.stop());

describe('client authentication through the JSON gateway', { timeout: 120_000 }, () => {
  const [first, second, third] = [0, 1, 2].map(
    (index) => (): ProcessMember => cluster.members[index] as ProcessMember,
  ) as [() => ProcessMember, () => ProcessMember, () => ProcessMember];

  it('refuses the unauthenticated, serves alice in her prefix only, and survives a restart', async () => {
    // Before auth: anyone writes (as etcd).
    const open = await post(first().clientUrl, '/v3/kv/put', { key: b('secret'), value: b('s') });
    expect(open.status).toBe(200);
    const early = await post(first().clientUrl, '/v3/auth/enable', {});
    expect(early).toMatchObject({
      status: 412,
      body: { error: 'etcdserver: root user does not exist', code: 9 },
    });
    for (const [path, body] of SETUP) {
      expect({ path, ...(await post(first().clientUrl, path, body)) }).toMatchObject({
        path,
        status: 200,
      });
    }
    const rootToken = (
      await post(second().clientUrl, '/v3/auth/authenticate', {
        name: 'root',
        password: 'root-pw',
      })
    ).body.token as string;
    expect(
      (await post(first().clientUrl, '/v3/kv/put', { key: b('alice/a'), value: b('1') }, rootToken))
        .status,
    ).toBe(200);

    // Unauthenticated: refused on every member, for reads and writes.
    for (const member of cluster.members) {
      expect(await post(member.clientUrl, '/v3/kv/range', { key: b('secret') })).toMatchObject({
        status: 400,
        body: { error: 'etcdserver: user name is empty', code: 3 },
      });
      const put = await post(member.clientUrl, '/v3/kv/put', { key: b('x'), value: b('y') });
      expect(put.status).toBe(400);
      const rest = await fetch(`${member.clientUrl}/v1/kv/secret`);
      expect(rest.status).toBe(400);
      await rest.arrayBuffer();
    }

    // A wrong password and an unknown user: the same refusal.
    for (const [name, password] of [
      ['alice', 'wrong'],
      ['mallory', 'alice-pw'],
    ]) {
      expect(
        await post(second().clientUrl, '/v3/auth/authenticate', { name, password }),
      ).toMatchObject({
        status: 400,
        body: { error: 'etcdserver: authentication failed, invalid user ID or password', code: 3 },
      });
    }

    // Alice authenticates on one member and uses the token on another.
    const login = await post(second().clientUrl, '/v3/auth/authenticate', {
      name: 'alice',
      password: 'alice-pw',
    });
    expect(login.status).toBe(200);
    const token = login.body.token as string;
    const inside = await post(third().clientUrl, '/v3/kv/range', { key: b('alice/a') }, token);
    expect(inside.status).toBe(200);
    expect((inside.body.kvs as { value: string }[])[0]?.value).toBe(b('1'));
    expect(
      (await post(third().clientUrl, '/v3/kv/put', { key: b('alice/b'), value: b('2') }, token))
        .status,
    ).toBe(200);
    const prefix = await post(
      first().clientUrl,
      '/v3/kv/range',
      { key: b('alice/'), range_end: b('alice0') },
      token,
    );
    expect(prefix.body.count).toBe('2');
    for (const request of [
      { key: b('secret') },
      { key: b('alice/'), range_end: b('alice1') },
      { key: b('alice/'), range_end: 'AA==' },
    ]) {
      expect(await post(third().clientUrl, '/v3/kv/range', request, token)).toMatchObject({
        status: 403,
        body: { error: 'etcdserver: permission denied', code: 7 },
      });
    }
    // A txn touching one key outside her prefix, in a nested failure branch, is refused whole.
    const txn = await post(
      third().clientUrl,
      '/v3/kv/txn',
      {
        success: [{ request_put: { key: b('alice/c'), value: b('3') } }],
        failure: [{ request_txn: { success: [{ request_range: { key: b('secret') } }] } }],
      },
      token,
    );
    expect(txn.status).toBe(403);
    // REST takes the same token as a Bearer token.
    const rest = await fetch(`${second().clientUrl}/v1/kv/alice%2Fa`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(rest.status).toBe(200);
    expect(await rest.text()).toBe('1');
    // Management needs root.
    expect((await post(first().clientUrl, '/v3/auth/user/list', {}, token)).status).toBe(403);
    expect(await post(first().clientUrl, '/v3/kv/range', { key: b('x') }, 'forged')).toMatchObject({
      status: 401,
      body: { error: 'etcdserver: invalid auth token', code: 16 },
    });

    // Restart every member: the auth state comes back from the log and the snapshot.
    await Promise.all(cluster.members.map((member) => cluster.kill(member)));
    cluster.startAll();
    await cluster.waitReady();
    expect((await post(first().clientUrl, '/v3/kv/range', { key: b('alice/a') })).status).toBe(400);
    // The signing key is replicated state: a token issued before the restart still works.
    const after = await post(second().clientUrl, '/v3/kv/range', { key: b('alice/a') }, token);
    expect(after.status).toBe(200);
    expect(
      (await post(second().clientUrl, '/v3/kv/range', { key: b('secret') }, token)).status,
    ).toBe(403);
    const relogin = await post(third().clientUrl, '/v3/auth/authenticate', {
      name: 'alice',
      password: 'alice-pw',
    });
    expect(relogin.status).toBe(200);
    const roles = await post(first().clientUrl, '/v3/auth/user/get', { name: 'alice' }, rootToken);
    expect(roles.body.roles).toEqual(['alice-role']);

    // The member dashboard and cluster status need no token and show cluster state, no keys.
    for (const path of ['/ui/api/view', '/v1/cluster']) {
      const response = await fetch(`${first().clientUrl}${path}`);
      expect(response.status).toBe(200);
      const text = await response.text();
      expect(text).not.toContain('alice/');
      expect(text).not.toContain('secret');
    }
  });
});

/** Status and body without what differs by design (ids, term, tokens, kv-node's extra fields). */
function comparable(answer: Answer): unknown {
  const body = JSON.parse(
    JSON.stringify(answer.body, (key, value: unknown) =>
      ['cluster_id', 'member_id', 'raft_term', 'revision'].includes(key)
        ? undefined
        : key === 'token'
          ? '<token>'
          : value,
    ),
  ) as Record<string, unknown>;
  return {
    status: answer.status,
    body: body.error === undefined ? body : { error: body.error, code: body.code },
  };
}

describe.skipIf(!etcdPresent)(
  'auth responses shaped as a real etcd 3.4',
  { timeout: 120_000 },
  () => {
    let etcd: RealEtcd | undefined;
    let etcdUrl: string;
    let single: StartedCluster | undefined;

    beforeAll(async () => {
      // Both start at once; whichever started is stopped in afterAll even if the other failed.
      const [etcdStart, singleStart] = await Promise.allSettled([
        startRealEtcd(),
        startedCluster(1, { extraArgs: ['--auth-scrypt-cost', '8'] }),
      ]);
      if (etcdStart.status === 'fulfilled') etcd = etcdStart.value;
      if (singleStart.status === 'fulfilled') single = singleStart.value;
      for (const start of [etcdStart, singleStart]) {
        if (start.status === 'rejected') throw start.reason;
      }
      etcdUrl = (etcd as RealEtcd).clientUrl;
    }, 60_000);

    afterAll(async () => {
      await etcd?.stop();
      await single?.stop();
    });

    it('for management, authentication, permission checks and their errors', async () => {
      const kvNode = (single as StartedCluster).first.clientUrl;
      const steps: [string, unknown, 'none' | 'root' | 'alice'][] = [
        ['/v3/auth/enable', {}, 'none'],
        ['/v3/auth/authenticate', { name: 'root', password: 'root-pw' }, 'none'],
        ...SETUP.slice(0, 1).map(([path, body]): [string, unknown, 'none'] => [path, body, 'none']),
        ['/v3/auth/user/add', { name: 'root', password: 'again' }, 'none'],
        ['/v3/auth/user/add', { name: '', password: 'x' }, 'none'],
        ['/v3/auth/enable', {}, 'none'],
        ...SETUP.slice(1).map(([path, body]): [string, unknown, 'none'] => [path, body, 'none']),
        ['/v3/auth/authenticate', { name: 'alice', password: 'wrong' }, 'none'],
        ['/v3/kv/range', { key: b('alice/a') }, 'none'],
        ['/v3/kv/put', { key: b('alice/a'), value: b('1') }, 'alice'],
        ['/v3/kv/range', { key: b('alice/a') }, 'alice'],
        ['/v3/kv/range', { key: b('other') }, 'alice'],
        ['/v3/kv/range', { key: b('alice/'), range_end: b('alice1') }, 'alice'],
        ['/v3/auth/user/list', {}, 'alice'],
        ['/v3/auth/user/list', {}, 'root'],
        ['/v3/auth/role/list', {}, 'root'],
        ['/v3/auth/user/get', { name: 'alice' }, 'root'],
        ['/v3/auth/user/get', { name: 'nobody' }, 'root'],
        ['/v3/auth/role/get', { role: 'alice-role' }, 'root'],
        ['/v3/auth/role/get', { role: 'root' }, 'root'],
        ['/v3/auth/role/grant', { name: 'nope', perm: { key: b('x') } }, 'root'],
        ['/v3/auth/role/revoke', { role: 'alice-role', key: b('zzz') }, 'root'],
        ['/v3/auth/user/revoke', { name: 'alice', role: 'root' }, 'root'],
        ['/v3/auth/user/revoke', { name: 'root', role: 'root' }, 'root'],
        ['/v3/auth/role/delete', { role: 'root' }, 'root'],
        ['/v3/auth/user/delete', { name: 'root' }, 'root'],
        ['/v3/kv/range', { key: b('alice/a') }, 'root'],
        ['/v3/auth/disable', {}, 'alice'],
        ['/v3/auth/disable', {}, 'root'],
        ['/v3/auth/authenticate', { name: 'alice', password: 'alice-pw' }, 'none'],
      ];
      const tokens = new Map<string, Record<string, string>>([
        [etcdUrl, {}],
        [kvNode, {}],
      ]);
      for (const [path, body, as] of steps) {
        const answers: unknown[] = [];
        for (const base of [etcdUrl, kvNode]) {
          const held = tokens.get(base) as Record<string, string>;
          // Each server's own token for the step's user, obtained on first use.
          if (as !== 'none' && held[as] === undefined) {
            const password = as === 'root' ? 'root-pw' : 'alice-pw';
            const login = await post(base, '/v3/auth/authenticate', { name: as, password });
            expect(login.status).toBe(200);
            held[as] = login.body.token as string;
          }
          const answer = await post(base, path, body, as === 'none' ? undefined : held[as]);
          answers.push(comparable(answer));
        }
        expect({ path, body, as, answer: answers[1] }).toEqual({
          path,
          body,
          as,
          answer: answers[0],
        });
      }
    });
  },
);
