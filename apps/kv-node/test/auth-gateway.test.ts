/**
 * The auth gateway in process (over one state machine): what every route checks, bad input,
 * bounds, throttling, and what the member's own dashboard exposes with auth enabled.
 */

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_ROLES_PER_USER } from '../src/auth/auth-limits.js';
import type { TestApi } from './support/api-server.js';
import { startTestApi } from './support/api-server.js';

const b = (text: string): string => Buffer.from(text).toString('base64');

let api: TestApi;
let now = 1_000_000;

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

async function post(path: string, body: unknown, token?: string): Promise<Answer> {
  const response = await fetch(`${api.baseUrl}${path}`, {
    method: 'POST',
    headers: token === undefined ? {} : { authorization: token },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function ok(path: string, body: unknown, token?: string): Promise<Answer> {
  const answer = await post(path, body, token);
  expect({ path, ...answer }).toMatchObject({ path, status: 200 });
  return answer;
}

async function login(name: string, password: string): Promise<string> {
  return (await ok('/v3/auth/authenticate', { name, password })).body.token as string;
}

beforeEach(async () => {
  now = 1_000_000;
  api = await startTestApi({
    auth: { tokenTtlMs: 60_000, scryptCost: 4, clientCertAuth: false, now: () => now },
  });
  await ok('/v3/auth/user/add', { name: 'root', password: 'root-pw' });
  await ok('/v3/auth/user/grant', { user: 'root', role: 'root' });
  await ok('/v3/auth/role/add', { name: 'app' });
  await ok('/v3/auth/role/grant', {
    name: 'app',
    perm: { permType: 'READWRITE', key: b('app/'), range_end: b('app0') },
  });
  await ok('/v3/auth/role/grant', { name: 'app', perm: { permType: 'READ', key: b('shared') } });
  await ok('/v3/auth/user/add', { name: 'alice', password: 'alice-pw' });
  await ok('/v3/auth/user/grant', { user: 'alice', role: 'app' });
  await ok('/v3/kv/put', { key: b('app/1'), value: b('one') });
  await ok('/v3/kv/put', { key: b('shared'), value: b('s') });
  await ok('/v3/kv/put', { key: b('secret'), value: b('x') });
  await ok('/v3/auth/enable', {});
});

afterEach(async () => {
  await api.close();
});

describe('the auth gateway', () => {
  it('checks every key a txn touches, in compares and both branches, nested', async () => {
    const token = await login('alice', 'alice-pw');
    const inside = {
      compare: [{ target: 'VERSION', key: b('app/1'), version: '1' }],
      success: [{ request_put: { key: b('app/2'), value: b('2') } }],
      failure: [{ request_range: { key: b('shared') } }],
    };
    expect((await post('/v3/kv/txn', inside, token)).status).toBe(200);
    const cases = [
      { ...inside, compare: [{ target: 'VERSION', key: b('secret'), version: '1' }] },
      { ...inside, failure: [{ request_range: { key: b('secret') } }] },
      { ...inside, failure: [{ request_put: { key: b('shared'), value: b('w') } }] },
      {
        ...inside,
        failure: [{ request_txn: { failure: [{ request_delete_range: { key: b('secret') } }] } }],
      },
    ];
    for (const txn of cases) {
      expect(await post('/v3/kv/txn', txn, token)).toMatchObject({
        status: 403,
        body: { error: 'etcdserver: permission denied', code: 7 },
      });
    }
    // A refused write changed nothing.
    const root = await login('root', 'root-pw');
    const secret = await post('/v3/kv/range', { key: b('secret') }, root);
    expect((secret.body.kvs as { value: string }[])[0]?.value).toBe(b('x'));
  });

  it('needs read access for prev_kv, on puts and deletes', async () => {
    const token = await login('alice', 'alice-pw');
    await ok(
      '/v3/auth/role/grant',
      { name: 'app', perm: { permType: 'WRITE', key: b('w') } },
      await login('root', 'root-pw'),
    );
    expect((await post('/v3/kv/put', { key: b('w'), value: b('1') }, token)).status).toBe(200);
    expect(
      (await post('/v3/kv/put', { key: b('w'), value: b('1'), prev_kv: true }, token)).status,
    ).toBe(403);
    expect((await post('/v3/kv/deleterange', { key: b('w'), prev_kv: true }, token)).status).toBe(
      403,
    );
    expect((await post('/v3/kv/deleterange', { key: b('w') }, token)).status).toBe(200);
  });

  it('serves REST with a Bearer token, on exactly the keys and prefixes allowed', async () => {
    const token = await login('alice', 'alice-pw');
    const get = (path: string, auth?: string): Promise<Response> =>
      fetch(
        `${api.baseUrl}${path}`,
        auth === undefined ? {} : { headers: { authorization: auth } },
      );
    expect((await get('/v1/kv/app%2F1', `Bearer ${token}`)).status).toBe(200);
    expect((await get('/v1/kv/app%2F1', token)).status).toBe(200);
    expect((await get('/v1/kv/secret', `Bearer ${token}`)).status).toBe(403);
    expect((await get('/v1/kv?prefix=app%2F', `Bearer ${token}`)).status).toBe(200);
    expect((await get('/v1/kv?prefix=app', `Bearer ${token}`)).status).toBe(403);
    expect((await get('/v1/kv', `Bearer ${token}`)).status).toBe(403);
    expect((await get('/v1/kv/app%2F1', 'Bearer nonsense')).status).toBe(401);
    const put = await fetch(`${api.baseUrl}/v1/kv/secret`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}` },
      body: 'overwritten',
    });
    expect(put.status).toBe(403);
  });

  it('expires tokens after the TTL', async () => {
    const token = await login('alice', 'alice-pw');
    now += 59_999;
    expect((await post('/v3/kv/range', { key: b('app/1') }, token)).status).toBe(200);
    now += 1;
    expect(await post('/v3/kv/range', { key: b('app/1') }, token)).toMatchObject({
      status: 401,
      body: { error: 'etcdserver: invalid auth token' },
    });
  });

  it('throttles repeated failures for a name, in bounded memory', async () => {
    for (let attempt = 0; attempt < 5; attempt++) {
      expect((await post('/v3/auth/authenticate', { name: 'alice', password: 'no' })).status).toBe(
        400,
      );
    }
    expect((await post('/v3/auth/authenticate', { name: 'alice', password: 'no' })).status).toBe(
      400,
    );
    // Now even the right password waits.
    expect(
      await post('/v3/auth/authenticate', { name: 'alice', password: 'alice-pw' }),
    ).toMatchObject({
      status: 429,
      body: { error: 'etcdserver: too many requests', code: 8 },
    });
    now += 1000;
    expect(
      (await post('/v3/auth/authenticate', { name: 'alice', password: 'alice-pw' })).status,
    ).toBe(200);
  });

  it('refuses oversized and malformed input with a clear error', async () => {
    const root = await login('root', 'root-pw');
    expect(
      await post('/v3/auth/user/add', { name: 'x'.repeat(300), password: 'p' }, root),
    ).toMatchObject({
      status: 413,
      body: { field: 'name' },
    });
    expect(
      await post('/v3/auth/user/add', { name: 'big', password: 'p'.repeat(2000) }, root),
    ).toMatchObject({
      status: 413,
      body: { field: 'password' },
    });
    expect(
      await post('/v3/auth/authenticate', { name: 'alice', password: 'p'.repeat(2000) }),
    ).toMatchObject({
      status: 413,
    });
    expect(await post('/v3/auth/role/add', { name: 42 }, root)).toMatchObject({
      status: 400,
      body: { field: 'name' },
    });
    expect(
      await post('/v3/auth/role/grant', { name: 'app', perm: { permType: 'ALL' } }, root),
    ).toMatchObject({
      status: 400,
      body: { field: 'perm.permType' },
    });
    expect(
      await post('/v3/auth/role/grant', { name: 'app', perm: { key: b('k'.repeat(5000)) } }, root),
    ).toMatchObject({ status: 413, body: { field: 'perm.key' } });
    expect(
      await post('/v3/auth/user/add', { name: 'u', password: 'p', extra: 1 }, root),
    ).toMatchObject({
      status: 400,
      body: { field: 'extra' },
    });
    expect((await post('/v3/kv/range', { key: b('app/1') }, 'x'.repeat(5000))).status).toBe(401);
  });

  it('bounds the roles of a user', async () => {
    const root = await login('root', 'root-pw');
    await ok('/v3/auth/user/add', { name: 'many', password: 'p' }, root);
    for (let index = 0; index < MAX_ROLES_PER_USER; index++) {
      await ok('/v3/auth/role/add', { name: `r${index}` }, root);
      await ok('/v3/auth/user/grant', { user: 'many', role: `r${index}` }, root);
    }
    await ok('/v3/auth/role/add', { name: 'one-more' }, root);
    expect(
      await post('/v3/auth/user/grant', { user: 'many', role: 'one-more' }, root),
    ).toMatchObject({
      status: 400,
      body: { error: 'etcdserver: too many roles granted to the user', code: 8 },
    });
  });

  it('lets a user read itself and its roles, and nothing else of the auth state', async () => {
    const token = await login('alice', 'alice-pw');
    expect((await ok('/v3/auth/user/get', { name: 'alice' }, token)).body.roles).toEqual(['app']);
    expect((await post('/v3/auth/user/get', { name: 'root' }, token)).status).toBe(403);
    expect((await ok('/v3/auth/role/get', { role: 'app' }, token)).body.perm).toHaveLength(2);
    expect((await post('/v3/auth/role/list', {}, token)).status).toBe(403);
    expect((await post('/v3/auth/user/add', { name: 'eve', password: 'e' }, token)).status).toBe(
      403,
    );
    expect((await post('/v3/auth/disable', {}, token)).status).toBe(403);
  });

  it('shows no key through the member dashboard routes and status', async () => {
    // The member's dashboard and status routes report cluster state only (no keys or values).
    for (const path of ['/v1/cluster', '/metrics', '/health']) {
      const text = await (await fetch(`${api.baseUrl}${path}`)).text();
      expect(text).not.toContain('secret');
      expect(text).not.toContain('app/1');
    }
  });
});
