/**
 * The v3 routes answer with etcd 3.4 gateway JSON, byte for byte in shape: base64 bytes, int64 as
 * strings, zero fields omitted, and a header with cluster_id, member_id, revision, raft_term.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApi } from './support/api-server.js';
import { startTestApi } from './support/api-server.js';

const b64 = (text: string): string => Buffer.from(text).toString('base64');
const header = (revision: number): Record<string, string> => ({
  cluster_id: '14841639068965178418',
  member_id: '10276657743932975437',
  revision: String(revision),
  raft_term: '2',
});

let api: TestApi;

async function post(path: string, body: unknown): Promise<{ status: number; json: unknown }> {
  const response = await fetch(`${api.baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, json: await response.json() };
}

beforeAll(async () => {
  api = await startTestApi();
});
afterAll(async () => {
  await api.close();
});

describe('etcd v3 JSON compatibility', () => {
  it('range on an empty store: only the header', async () => {
    expect(await post('/v3/kv/range', { key: b64('foo') })).toEqual({
      status: 200,
      json: { header: header(1) },
    });
  });

  it('put, then put with prev_kv', async () => {
    expect(await post('/v3/kv/put', { key: b64('foo'), value: b64('bar') })).toEqual({
      status: 200,
      json: { header: header(2) },
    });
    expect(await post('/v3/kv/put', { key: b64('foo'), value: b64('baz'), prev_kv: true })).toEqual(
      {
        status: 200,
        json: {
          header: header(3),
          prev_kv: {
            key: b64('foo'),
            create_revision: '2',
            mod_revision: '2',
            version: '1',
            value: b64('bar'),
          },
        },
      },
    );
  });

  it('range with count, more and limit; keys_only omits values; count_only omits kvs', async () => {
    await post('/v3/kv/put', { key: b64('foo2'), value: b64('x') });
    expect(
      await post('/v3/kv/range', { key: b64('foo'), range_end: b64('fop'), limit: 1 }),
    ).toEqual({
      status: 200,
      json: {
        header: header(4),
        kvs: [
          {
            key: b64('foo'),
            create_revision: '2',
            mod_revision: '3',
            version: '2',
            value: b64('baz'),
          },
        ],
        more: true,
        count: '2',
      },
    });
    expect(
      await post('/v3/kv/range', { key: b64('foo'), range_end: b64('fop'), keys_only: true }),
    ).toEqual({
      status: 200,
      json: {
        header: header(4),
        kvs: [
          { key: b64('foo'), create_revision: '2', mod_revision: '3', version: '2' },
          { key: b64('foo2'), create_revision: '4', mod_revision: '4', version: '1' },
        ],
        count: '2',
      },
    });
    expect(
      await post('/v3/kv/range', { key: b64('foo'), range_end: b64('fop'), count_only: true }),
    ).toEqual({ status: 200, json: { header: header(4), count: '2' } });
  });

  it('accepts lowerCamel names, int64 as strings and enum names', async () => {
    const { json } = await post('/v3/kv/range', {
      key: 'AA==',
      rangeEnd: 'AA==',
      limit: '1',
      sort_order: 'DESCEND',
      sortTarget: 'KEY',
      serializable: true,
    });
    expect(json).toMatchObject({ kvs: [{ key: b64('foo2') }], more: true, count: '2' });
  });

  it('deleterange with prev_kv', async () => {
    expect(await post('/v3/kv/deleterange', { key: b64('foo2'), prev_kv: true })).toEqual({
      status: 200,
      json: {
        header: header(5),
        deleted: '1',
        prev_kvs: [
          {
            key: b64('foo2'),
            create_revision: '4',
            mod_revision: '4',
            version: '1',
            value: b64('x'),
          },
        ],
      },
    });
    expect(await post('/v3/kv/deleterange', { key: b64('absent') })).toEqual({
      status: 200,
      json: { header: header(5) },
    });
  });

  it('txn: compare-and-swap success, with inner headers carrying only the revision', async () => {
    expect(
      await post('/v3/kv/txn', {
        compare: [{ result: 'EQUAL', target: 'VALUE', key: b64('foo'), value: b64('baz') }],
        success: [
          { request_put: { key: b64('foo'), value: b64('qux') } },
          { request_range: { key: b64('foo') } },
        ],
        failure: [{ request_range: { key: b64('foo') } }],
      }),
    ).toEqual({
      status: 200,
      json: {
        header: header(6),
        succeeded: true,
        responses: [
          { response_put: { header: { revision: '6' } } },
          {
            response_range: {
              header: { revision: '6' },
              kvs: [
                {
                  key: b64('foo'),
                  create_revision: '2',
                  mod_revision: '6',
                  version: '3',
                  value: b64('qux'),
                },
              ],
              count: '1',
            },
          },
        ],
      },
    });
  });

  it('txn: failed compare omits succeeded and runs the failure branch', async () => {
    expect(
      await post('/v3/kv/txn', {
        compare: [{ target: 'MOD', key: b64('foo'), result: 'LESS', mod_revision: '2' }],
        success: [{ request_put: { key: b64('foo'), value: b64('no') } }],
        failure: [{ request_delete_range: { key: b64('nothing') } }],
      }),
    ).toEqual({
      status: 200,
      json: {
        header: header(6),
        responses: [{ response_delete_range: { header: { revision: '6' } } }],
      },
    });
  });

  it('txn with a version compare that defaults to EQUAL and 0 (create if absent)', async () => {
    const { json } = await post('/v3/kv/txn', {
      compare: [{ target: 'VERSION', key: b64('new') }],
      success: [{ request_put: { key: b64('new'), value: b64('1') } }],
    });
    expect(json).toEqual({
      header: header(7),
      succeeded: true,
      responses: [{ response_put: { header: { revision: '7' } } }],
    });
  });

  it('maintenance/status and cluster/member/list', async () => {
    expect(await post('/v3/maintenance/status', {})).toEqual({
      status: 200,
      json: {
        header: header(7),
        version: '0.0.0-test',
        dbSize: expect.stringMatching(/^[1-9]\d*$/) as unknown,
        leader: '10276657743932975437',
        raftIndex: '8',
        raftTerm: '2',
        raftAppliedIndex: '8',
        dbSizeInUse: expect.stringMatching(/^[1-9]\d*$/) as unknown,
      },
    });
    expect(await post('/v3/cluster/member/list', {})).toEqual({
      status: 200,
      json: {
        // etcd's Cluster service puts no revision in its header.
        header: { ...header(7), revision: undefined },
        members: [
          {
            ID: '10276657743932975437',
            name: 'node-1',
            peerURLs: ['http://127.0.0.1:2380'],
            clientURLs: ['http://127.0.0.1:2379'],
          },
        ],
      },
    });
  });

  it('reads a past revision, with the current revision in the header', async () => {
    const current = Number(
      ((await post('/v3/kv/range', { key: b64('foo') })).json as { header: { revision: string } })
        .header.revision,
    );
    expect(await post('/v3/kv/range', { key: b64('foo'), revision: 2 })).toEqual({
      status: 200,
      json: {
        header: header(current),
        kvs: [
          {
            key: b64('foo'),
            create_revision: '2',
            mod_revision: '2',
            version: '1',
            value: b64('bar'),
          },
        ],
        count: '1',
      },
    });
  });

  it("reports errors in etcd's envelope plus reason and definite", async () => {
    expect(await post('/v3/kv/put', { value: b64('x') })).toEqual({
      status: 400,
      json: {
        error: 'etcdserver: key is not provided',
        code: 3,
        message: 'etcdserver: key is not provided',
        reason: 'bad_request',
        definite: true,
        field: 'key',
      },
    });
    expect((await post('/v3/kv/compaction', { revision: 3 })).status).toBe(200);
    const revision = await post('/v3/kv/range', { key: b64('foo'), revision: 2 });
    expect(revision).toMatchObject({
      status: 400,
      json: { error: 'etcdserver: mvcc: required revision has been compacted', code: 11 },
    });
    expect(await post('/v3/kv/range', { key: b64('foo'), revision: 99 })).toMatchObject({
      status: 400,
      json: { error: 'etcdserver: mvcc: required revision is a future revision', code: 11 },
    });
  });
});
