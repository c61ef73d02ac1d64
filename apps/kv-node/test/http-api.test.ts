/** The friendly REST API, operational routes, every error code and every limit, in-process. */

import { request } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { rangeRequest } from '../src/store/kv-types.js';
import type { TestApi } from './support/api-server.js';
import { startTestApi } from './support/api-server.js';

const b64 = (text: string): string => Buffer.from(text).toString('base64');

let api: TestApi;

async function call(
  method: string,
  path: string,
  body?: string | Buffer,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${api.baseUrl}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body }),
  });
}

async function expectServing(): Promise<void> {
  const response = await call('GET', '/livez');
  expect(response.status).toBe(200);
}

beforeAll(async () => {
  api = await startTestApi({
    limits: {
      maxKeyBytes: 64,
      maxValueBytes: 1024,
      maxRequestBytes: 2048,
      maxTxnOps: 128,
      maxTxnReadKeys: 10_000,
      maxTxnReadBytes: 4 * 1024 * 1024,
      maxRangeResponseBytes: 64 * 1024 * 1024,
    },
    operationTimeoutMs: 300,
    server: { requestTimeoutMs: 600, headersTimeoutMs: 600 },
  });
});
afterAll(async () => {
  await api.close();
});
beforeEach(() => {
  api.backend.mode = 'ok';
});

describe('REST /v1/kv/{key}', () => {
  it('creates (201), replaces (200), reads raw bytes with an ETag, deletes', async () => {
    const created = await call('PUT', '/v1/kv/greeting', 'hello');
    expect(created.status).toBe(201);
    const createdBody = (await created.json()) as { revision: number };
    expect(created.headers.get('etag')).toBe(`"${createdBody.revision}"`);
    const replaced = await call('PUT', '/v1/kv/greeting', 'hello again');
    expect(replaced.status).toBe(200);
    const read = await call('GET', '/v1/kv/greeting');
    expect(read.status).toBe(200);
    expect(await read.text()).toBe('hello again');
    expect(read.headers.get('etag')).toBe(replaced.headers.get('etag'));
    expect(read.headers.get('x-kv-version')).toBe('2');
    const notModified = await call('GET', '/v1/kv/greeting', undefined, {
      'if-none-match': read.headers.get('etag')!,
    });
    expect(notModified.status).toBe(304);
    expect((await call('DELETE', '/v1/kv/greeting')).status).toBe(200);
    const gone = await call('GET', '/v1/kv/greeting');
    expect(gone.status).toBe(404);
    expect(await gone.json()).toMatchObject({ reason: 'not_found', definite: true });
    expect((await call('DELETE', '/v1/kv/greeting')).status).toBe(404);
  });

  it('keys keep dot segments exactly as sent', async () => {
    // fetch would normalize the path on the client side; node:http sends it as written.
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const outgoing = request(
        { host: '127.0.0.1', port: api.port, path: '/v1/kv/a/../b', method: 'PUT' },
        (response) => {
          response.resume();
          resolve(response.statusCode);
        },
      );
      outgoing.on('error', reject);
      outgoing.end('dots');
    });
    expect(status).toBe(201);
    const listed = (await (await call('GET', '/v1/kv?prefix=a/..')).json()) as {
      items: { key: string }[];
    };
    expect(listed.items.map((item) => item.key)).toEqual(['a/../b']);
  });

  it('keys may contain slashes and any UTF-8; values any bytes', async () => {
    const value = Buffer.from([0, 255, 1, 254]);
    expect((await call('PUT', '/v1/kv/a/b%20c/%C3%A9', value)).status).toBe(201);
    const read = await call('GET', '/v1/kv/a/b%20c/%C3%A9?consistency=serializable');
    expect(Buffer.from(await read.arrayBuffer())).toEqual(value);
    const viaV3 = await fetch(`${api.baseUrl}/v3/kv/range`, {
      method: 'POST',
      body: JSON.stringify({ key: b64('a/b c/é') }),
    });
    expect(await viaV3.json()).toMatchObject({ kvs: [{ value: value.toString('base64') }] });
  });

  it('If-Match makes a compare-and-set on the mod revision (412 on mismatch)', async () => {
    const first = await call('PUT', '/v1/kv/cas', 'v1');
    const tag = first.headers.get('etag')!;
    const ok = await call('PUT', '/v1/kv/cas', 'v2', { 'if-match': tag });
    expect(ok.status).toBe(200);
    const stale = await call('PUT', '/v1/kv/cas', 'v3', { 'if-match': tag });
    expect(stale.status).toBe(412);
    expect(stale.headers.get('etag')).toBe(ok.headers.get('etag'));
    expect(await stale.json()).toMatchObject({ reason: 'precondition_failed', definite: true });
    expect(await (await call('GET', '/v1/kv/cas')).text()).toBe('v2');
    const staleDelete = await call('DELETE', '/v1/kv/cas', undefined, { 'if-match': tag });
    expect(staleDelete.status).toBe(412);
    const badTag = await call('PUT', '/v1/kv/cas', 'x', { 'if-match': 'nonsense' });
    expect(badTag.status).toBe(400);
    expect(await badTag.json()).toMatchObject({ field: 'If-Match' });
  });

  it('refuses an If-Match revision beyond 2^53 with 400 instead of logging a command no member can decode', async () => {
    // 16 digits pass the ETag pattern, but 9999999999999999 is not a safe integer: it used to be
    // encoded into the replicated command, which then failed to decode on apply on every member.
    for (const tag of ['"9999999999999999"', 'W/"9007199254740992"']) {
      const response = await call('PUT', '/v1/kv/huge-tag', 'x', { 'if-match': tag });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ field: 'If-Match' });
      const remove = await call('DELETE', '/v1/kv/huge-tag', undefined, { 'if-match': tag });
      expect(remove.status).toBe(400);
    }
    await expectServing();
  });

  it('If-None-Match: * makes a write create-only', async () => {
    expect((await call('PUT', '/v1/kv/once', 'a', { 'if-none-match': '*' })).status).toBe(201);
    const again = await call('PUT', '/v1/kv/once', 'b', { 'if-none-match': '*' });
    expect(again.status).toBe(412);
    expect(await (await call('GET', '/v1/kv/once')).text()).toBe('a');
  });

  it('Idempotency-Key: a retry returns the first result without applying twice', async () => {
    const headers = { 'idempotency-key': 'order-42' };
    const first = await call('PUT', '/v1/kv/counter', '1', headers);
    expect(first.status).toBe(201);
    await call('PUT', '/v1/kv/counter', '2');
    const retry = await call('PUT', '/v1/kv/counter', '1', headers);
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.headers.get('etag')).toBe(first.headers.get('etag'));
    expect(await (await call('GET', '/v1/kv/counter')).text()).toBe('2');
    const reused = await call('PUT', '/v1/kv/counter', 'different', headers);
    expect(reused.status).toBe(422);
    expect(await reused.json()).toMatchObject({ reason: 'idempotency_key_reused', definite: true });
    const badKey = await call('PUT', '/v1/kv/counter', '1', { 'idempotency-key': 'a b' });
    expect(badKey.status).toBe(400);
  });

  it('serializable reads skip the read barrier; linearizable reads take it', async () => {
    await call('PUT', '/v1/kv/r', '1');
    const before = api.backend.reads;
    await call('GET', '/v1/kv/r?consistency=serializable');
    expect(api.backend.reads).toBe(before);
    await call('GET', '/v1/kv/r');
    expect(api.backend.reads).toBe(before + 1);
    expect((await call('GET', '/v1/kv/r?consistency=eventual')).status).toBe(400);
  });
});

describe('REST lists and cluster', () => {
  it('lists a prefix in key order with limit and keys_only', async () => {
    for (const name of ['b', 'a', 'c']) await call('PUT', `/v1/kv/list/${name}`, `value-${name}`);
    await call('PUT', '/v1/kv/list0', 'outside');
    await call('PUT', '/v1/kv/list/bin', Buffer.from([0xff, 0xfe]));
    const listed = (await (await call('GET', '/v1/kv?prefix=list/&limit=3')).json()) as Record<
      string,
      unknown
    >;
    expect(listed).toMatchObject({ count: 4, more: true });
    expect(listed.items).toEqual([
      expect.objectContaining({ key: 'list/a', value: 'value-a', version: 1 }),
      expect.objectContaining({ key: 'list/b', value: 'value-b' }),
      expect.objectContaining({ key: 'list/bin', value_base64: '//4=' }),
    ]);
    const keys = (await (await call('GET', '/v1/kv?prefix=list/&keys_only=true')).json()) as {
      items: Record<string, unknown>[];
    };
    expect(keys.items.map((item) => item.key)).toEqual(['list/a', 'list/b', 'list/bin', 'list/c']);
    expect(keys.items[0]).not.toHaveProperty('value');
    expect((await call('GET', '/v1/kv?limit=x')).status).toBe(400);
  });

  it('reports the cluster', async () => {
    const cluster = (await (await call('GET', '/v1/cluster')).json()) as Record<string, unknown>;
    expect(cluster).toMatchObject({
      role: 'leader',
      generation: 2,
      members: [expect.objectContaining({ name: 'node-1', role: 'leader', lag: 0 })],
    });
  });
});

describe('operational routes', () => {
  it('health in etcd shape, readyz, metrics', async () => {
    const healthy = await call('GET', '/health');
    expect(healthy.status).toBe(200);
    expect(await healthy.json()).toEqual({ health: 'true' });
    expect((await call('GET', '/readyz')).status).toBe(200);
    const moved = await fetch(`${api.baseUrl}/dashboard`, { redirect: 'manual' });
    expect(moved.status).toBe(308);
    expect(moved.headers.get('location')).toBe('/ui/');
    const metrics = await (await call('GET', '/metrics')).text();
    for (const name of [
      'kv_http_request_duration_seconds_bucket{le="0.001",route="/health",method="GET",status="200"}',
      'kv_server_proposals_committed_total',
      'kv_server_proposals_failed_total',
      'etcd_server_proposals_pending',
      'kv_server_apply_duration_seconds',
      'kv_disk_wal_fsync_duration_seconds',
      'etcd_server_leader_changes_seen_total',
      'kv_network_peer_round_trip_time_seconds',
      'etcd_server_has_leader 1',
    ]) {
      expect(metrics).toContain(name);
    }
    api.backend.mode = 'no_leader';
    const unhealthy = await call('GET', '/health');
    expect(unhealthy.status).toBe(503);
    expect(await unhealthy.json()).toEqual({ health: 'false', reason: 'RAFT NO LEADER' });
    expect((await call('GET', '/readyz')).status).toBe(503);
  });
});

describe('errors', () => {
  it('503 with Retry-After when there is definitely no leader', async () => {
    api.backend.mode = 'no_leader';
    const write = await call('PUT', '/v1/kv/x', '1');
    expect(write.status).toBe(503);
    expect(write.headers.get('retry-after')).toBe('1');
    expect(await write.json()).toMatchObject({ reason: 'no_leader', definite: true, code: 14 });
    const read = await call('GET', '/v1/kv/x');
    expect(read.status).toBe(503);
  });

  it('504 when the outcome of a write is unknown, saying it may have been applied', async () => {
    api.backend.mode = 'indeterminate';
    const response = await call('PUT', '/v1/kv/maybe', '1');
    expect(response.status).toBe(504);
    const body = (await response.json()) as { message: string; definite: boolean };
    expect(body.definite).toBe(false);
    expect(body.message).toContain('may or may not have been applied');
  });

  it('504 when a write hangs past the operation timeout; 503 for a read that does', async () => {
    api.backend.mode = 'hang';
    const write = await call(
      'POST',
      '/v3/kv/put',
      JSON.stringify({ key: b64('h'), value: b64('1') }),
    );
    expect(write.status).toBe(504);
    expect(await write.json()).toMatchObject({ reason: 'indeterminate', definite: false });
    const read = await call('POST', '/v3/kv/range', JSON.stringify({ key: b64('h') }));
    expect(read.status).toBe(503);
  });

  it('400 for malformed JSON, wrong base64, wrong types and unknown fields, naming the field', async () => {
    const cases: [string, string, string][] = [
      ['/v3/kv/put', '{"key": ', 'body'],
      ['/v3/kv/put', '[1,2]', 'body'],
      ['/v3/kv/put', JSON.stringify({ key: 'not base64!', value: b64('x') }), 'key'],
      ['/v3/kv/range', JSON.stringify({ key: b64('a'), limit: -1 }), 'limit'],
      ['/v3/kv/range', JSON.stringify({ key: b64('a'), keys_only: 'yes' }), 'keys_only'],
      ['/v3/kv/range', JSON.stringify({ key: b64('a'), sort_order: 'SIDEWAYS' }), 'sort_order'],
      ['/v3/kv/put', JSON.stringify({ key: b64('a'), colour: 'red' }), 'colour'],
      ['/v3/kv/put', JSON.stringify({ key: b64('a'), lease: 'seven' }), 'lease'],
      ['/v3/kv/txn', JSON.stringify({ success: [{}] }), 'success[0]'],
      [
        '/v3/kv/txn',
        JSON.stringify({ compare: [{ key: b64('a'), target: 'VALUE', value: 5 }] }),
        'compare[0].value',
      ],
    ];
    for (const [path, body, field] of cases) {
      const response = await call('POST', path, body);
      expect(response.status, `${path} ${body}`).toBe(400);
      expect(await response.json()).toMatchObject({ code: 3, definite: true, field });
    }
    await expectServing();
  });

  it('400 for duplicate keys in one txn branch', async () => {
    const put = { request_put: { key: b64('d'), value: b64('1') } };
    const response = await call('POST', '/v3/kv/txn', JSON.stringify({ success: [put, put] }));
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      error: 'etcdserver: duplicate key given in txn request',
      reason: 'duplicate_key',
    });
  });

  it('400 for a txn with 129 operations; 128 is fine', async () => {
    const ops = (count: number): unknown[] =>
      Array.from({ length: count }, () => ({ request_range: { key: b64('k') } }));
    // Small ranges keep the body under the test's 2 KiB request limit only for few ops, so use
    // the v3 range op's smallest form.
    const over = await fetch(`${api.baseUrl}/v3/kv/txn`, {
      method: 'POST',
      body: JSON.stringify({ success: ops(129) }),
    });
    expect([400, 413]).toContain(over.status);
    const big = await startTestApi();
    try {
      const tooMany = await fetch(`${big.baseUrl}/v3/kv/txn`, {
        method: 'POST',
        body: JSON.stringify({ success: ops(129) }),
      });
      expect(tooMany.status).toBe(400);
      expect(await tooMany.json()).toMatchObject({
        error: 'etcdserver: too many operations in txn request',
        reason: 'too_many_operations',
        field: 'success',
      });
      const enough = await fetch(`${big.baseUrl}/v3/kv/txn`, {
        method: 'POST',
        body: JSON.stringify({ success: ops(128) }),
      });
      expect(enough.status).toBe(200);
    } finally {
      await big.close();
    }
  });

  it('413 for an oversized key, value or body; the node keeps serving', async () => {
    const longKey = 'k'.repeat(65);
    const keyResponse = await call('PUT', `/v1/kv/${longKey}`, 'x');
    expect(keyResponse.status).toBe(413);
    expect(await keyResponse.json()).toMatchObject({ reason: 'too_large', field: 'key' });
    const v3Key = await call('POST', '/v3/kv/put', JSON.stringify({ key: b64(longKey) }));
    expect(v3Key.status).toBe(413);
    const value = await call('PUT', '/v1/kv/big', Buffer.alloc(1025));
    expect(value.status).toBe(413);
    expect(await value.json()).toMatchObject({ field: 'value' });
    const v3Value = await call(
      'POST',
      '/v3/kv/put',
      JSON.stringify({ key: b64('k'), value: Buffer.alloc(1025).toString('base64') }),
    );
    expect(v3Value.status).toBe(413);
    const body = await call('PUT', '/v1/kv/big', Buffer.alloc(4096));
    expect(body.status).toBe(413);
    expect(await body.json()).toMatchObject({ field: 'body' });
    await expectServing();
  });

  it('404 for an unknown route and 405 with Allow for a wrong method', async () => {
    const unknown = await call('GET', '/v2/keys/foo');
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ reason: 'route_not_found', code: 5 });
    const wrongMethod = await call('GET', '/v3/kv/put');
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('POST');
    expect((await call('PATCH', '/v1/kv/x', 'y')).status).toBe(405);
    await expectServing();
  });

  it('408 for a slow client that sends one byte at a time; the node keeps serving', async () => {
    const reply = await new Promise<string>((resolve) => {
      const socket = connect(api.port, '127.0.0.1');
      let received = '';
      const body = JSON.stringify({ key: b64('slow'), value: b64('x') });
      socket.on('data', (chunk) => (received += chunk.toString()));
      socket.on('close', () => resolve(received));
      // A drip that lands just after the node answered 408 and closed draws a reset (CI, under
      // load: ECONNRESET): what was received before it is still the answer checked below.
      socket.on('error', () => resolve(received));
      socket.write(`POST /v3/kv/put HTTP/1.1\r\nhost: x\r\ncontent-length: ${body.length}\r\n\r\n`);
      let sent = 0;
      const drip = setInterval(() => {
        if (socket.destroyed || sent >= body.length) {
          clearInterval(drip);
          return;
        }
        socket.write(body[sent++]!);
      }, 150);
    });
    expect(reply).toMatch(/^HTTP\/1\.1 408/);
    expect(api.backend.store.range(rangeRequest('slow')).count).toBe(0);
    await expectServing();
  });
});
