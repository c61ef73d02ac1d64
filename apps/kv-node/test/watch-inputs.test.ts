/** Bad input to the watch routes gets a clear error before any stream starts. */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApi } from './support/api-server.js';
import { startTestApi } from './support/api-server.js';

let api: TestApi;

beforeAll(async () => {
  api = await startTestApi();
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
});
