import { createServer } from 'node:http';
import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { sendSlices } from './sliced-response.js';

let server: Server | undefined;

afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

/** Serves every request with `respond`; the server's base URL. */
async function serve(respond: (response: ServerResponse) => Promise<void>): Promise<string> {
  server = createServer((_request, response) => void respond(response));
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function* numberedSlices(count: number, produced: { count: number }): Generator<string> {
  for (let index = 0; index < count; index++) {
    produced.count++;
    yield `${String(index).padStart(8, '0')}${'x'.repeat(64 * 1024 - 8)}`;
  }
}

describe('sendSlices', () => {
  it('sends a body of many slices whole, chunked', async () => {
    const produced = { count: 0 };
    const url = await serve((response) =>
      sendSlices(response, 200, {}, numberedSlices(200, produced)),
    );
    const response = await fetch(url);
    const text = await response.text();
    expect(response.headers.get('transfer-encoding')).toBe('chunked');
    expect(text).toBe([...numberedSlices(200, { count: 0 })].join(''));
  });

  it('sends a body of one slice with its content-length', async () => {
    const url = await serve((response) =>
      sendSlices(response, 201, { 'x-test': 'one' }, ['{"a":1}']),
    );
    const response = await fetch(url);
    expect(response.status).toBe(201);
    expect(response.headers.get('content-length')).toBe('7');
    expect(response.headers.get('x-test')).toBe('one');
    expect(await response.text()).toBe('{"a":1}');
  });

  it('stops producing slices once the client stops reading and goes away', async () => {
    const produced = { count: 0 };
    let finished!: () => void;
    const done = new Promise<void>((resolve) => (finished = resolve));
    const url = await serve(async (response) => {
      await sendSlices(response, 200, {}, numberedSlices(100_000, produced));
      finished();
    });
    const controller = new AbortController();
    const response = await fetch(url, { signal: controller.signal });
    const reader = response.body?.getReader();
    await reader?.read();
    controller.abort();
    await done;
    // 100,000 slices are 6.4 GB: only backpressure and the close stopped the producer early.
    expect(produced.count).toBeLessThan(10_000);
  });

  it('destroys the response when producing a slice throws after the first was sent', async () => {
    let failure: unknown;
    const url = await serve(async (response) => {
      function* failing(): Generator<string> {
        yield '{"a":[';
        yield '1,';
        throw new Error('encoder failed');
      }
      await sendSlices(response, 200, {}, failing()).catch((error: unknown) => (failure = error));
    });
    await expect(fetch(url).then((response) => response.text())).rejects.toThrow();
    expect((failure as Error).message).toBe('encoder failed');
  });
});
