import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { changeMembership, MemberChangeRefused, promoteWhenCaughtUp } from './member-changes.js';

/** A member API that answers each request with the next of `answers` (status, body). */
async function memberApi(
  answers: [number, Record<string, unknown>][],
): Promise<{ url: string; server: Server; paths: string[] }> {
  const paths: string[] = [];
  const server = createServer((request, response) => {
    paths.push(request.url ?? '');
    request.resume();
    const [status, body] = answers.shift() ?? [500, { message: 'no more answers' }];
    response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return { url: `http://127.0.0.1:${port}`, server, paths };
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))),
  );
});

describe('changeMembership', () => {
  it('retries while the cluster is unavailable, then returns the answer', async () => {
    const api = await memberApi([
      [503, { message: 'etcdserver: unhealthy cluster', code: 14 }],
      [503, { message: 'etcdserver: no leader', code: 14 }],
      [200, { members: [] }],
    ]);
    servers.push(api.server);
    expect(await changeMembership([api.url], 'remove', { ID: '1' })).toEqual({ members: [] });
    expect(api.paths).toEqual(Array(3).fill('/v3/cluster/member/remove'));
  });

  it("stops at a refusal in etcd's words", async () => {
    const api = await memberApi([[404, { message: 'etcdserver: member not found', code: 5 }]]);
    servers.push(api.server);
    await expect(changeMembership([api.url], 'remove', { ID: '1' })).rejects.toThrow(
      new MemberChangeRefused('etcdserver: member not found'),
    );
  });

  it('tries the next member when one does not answer', async () => {
    const api = await memberApi([[200, { members: [] }]]);
    servers.push(api.server);
    expect(await changeMembership(['http://127.0.0.1:1', api.url], 'list', {})).toEqual({
      members: [],
    });
  });
});

describe('promoteWhenCaughtUp', () => {
  it('promotes once the cluster stops refusing a learner that is behind', async () => {
    const learner = { ID: '7', peerURLs: ['http://127.0.0.1:2380'], isLearner: true };
    const behind = 'etcdserver: can only promote a learner member which is in sync with leader';
    const api = await memberApi([
      [200, { members: [learner] }],
      [400, { message: behind, code: 9 }],
      [200, { members: [learner] }],
      [200, { members: [{ ...learner, isLearner: false }] }],
    ]);
    servers.push(api.server);
    await promoteWhenCaughtUp([api.url], 'http://127.0.0.1:2380', 10_000);
    expect(api.paths).toEqual([
      '/v3/cluster/member/list',
      '/v3/cluster/member/promote',
      '/v3/cluster/member/list',
      '/v3/cluster/member/promote',
    ]);
  });
});
