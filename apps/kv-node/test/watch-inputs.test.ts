/**
 * Bad input to the watch routes gets a clear error before any stream starts; an idle watch that
 * asked for progress notifications gets them, in etcd's shape.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApi } from './support/api-server.js';
import { startTestApi } from './support/api-server.js';

let api: TestApi;

beforeAll(async () => {
  api = await startTestApi({ watchProgressIntervalMs: 50 });
});
afterAll(async () => {
  await api.close();
});

async function watch(body: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${api.baseUrl}/v3/watch`, { method: 'POST', body });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

describe('watch inputs', () => {
  it('refuses malformed, unknown and empty requests with a 400', async () => {
    expect(await watch('{"create_request": ')).toMatchObject({ status: 400 });
    expect(await watch('{}')).toMatchObject({
      status: 400,
      json: { error: 'a watch needs a create_request' },
    });
    expect(await watch('{"create_request":{"key":"YQ==","filters":["NOPE"]}}')).toMatchObject({
      status: 400,
      json: {
        error: 'unknown value "NOPE" for enum etcdserverpb.WatchCreateRequest_FilterType',
      },
    });
    expect(await watch('{"create_request":{"key":"YQ==","wat":1}}')).toMatchObject({
      status: 400,
      json: { field: 'create_request.wat' },
    });
    const sse = await fetch(`${api.baseUrl}/v1/watch?prefix=a&key=b`);
    expect(sse.status).toBe(400);
    await sse.arrayBuffer();
    const badId = await fetch(`${api.baseUrl}/v1/watch?prefix=a`, {
      headers: { 'last-event-id': 'yesterday' },
    });
    expect(badId.status).toBe(400);
    await badId.arrayBuffer();
  });

  it('notifies progress to an idle watch that asked for it', async () => {
    const abort = new AbortController();
    const response = await fetch(`${api.baseUrl}/v3/watch`, {
      method: 'POST',
      body: JSON.stringify({ create_request: { key: 'YQ==', progress_notify: true, watch_id: 3 } }),
      signal: abort.signal,
    });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (text.split('\n').length < 3) {
      const { value } = await reader.read();
      text += decoder.decode(value, { stream: true });
    }
    abort.abort();
    const [created, progress] = text.split('\n').map((line) => JSON.parse(line || '{}') as unknown);
    const header = {
      cluster_id: '14841639068965178418',
      member_id: '10276657743932975437',
      revision: '1',
      raft_term: '2',
    };
    expect(created).toEqual({ result: { header, watch_id: '3', created: true } });
    expect(progress).toEqual({ result: { header, watch_id: '3' } });
  });

  it('bounds the watchers of one stream and cancels by watch_id', async () => {
    const creates = Array.from({ length: 1001 }, (_, index) =>
      JSON.stringify({ create_request: { key: Buffer.from(`k${index}`).toString('base64') } }),
    );
    const body = `${creates.join('\n')}\n${JSON.stringify({ cancel_request: { watch_id: 0 } })}`;
    const abort = new AbortController();
    const response = await fetch(`${api.baseUrl}/v3/watch`, {
      method: 'POST',
      body,
      signal: abort.signal,
    });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (text.split('\n').length < 1003) {
      const { value } = await reader.read();
      text += decoder.decode(value, { stream: true });
    }
    abort.abort();
    const results = text
      .split('\n')
      .slice(0, 1002)
      .map((line) => (JSON.parse(line) as { result: Record<string, unknown> }).result);
    expect(results.slice(0, 1000).every((result) => result.created === true)).toBe(true);
    expect(results[999]?.watch_id).toBe('999');
    expect(results[1000]).toMatchObject({
      watch_id: '-1',
      canceled: true,
      cancel_reason: 'too many watchers on one stream (at most 1000)',
    });
    expect(results[1001]).toMatchObject({ canceled: true });
    expect(results[1001]?.watch_id).toBeUndefined();
  });
});
