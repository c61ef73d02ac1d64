/**
 * A gateway watch is a long-lived stream: once started, the request timeout (here 300 ms) does
 * not cut it, whether its client ended the request body after the create request or keeps it
 * open to send more requests on it (etcd's gateway keeps both). Before the stream has started
 * the timeout still applies: a watch whose first request never comes is answered 408.
 */

import type { ClientRequest, IncomingMessage } from 'node:http';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApi } from './support/api-server.js';
import { startTestApi } from './support/api-server.js';

const REQUEST_TIMEOUT_MS = 300;
let api: TestApi;

beforeAll(async () => {
  api = await startTestApi({
    server: { requestTimeoutMs: REQUEST_TIMEOUT_MS, headersTimeoutMs: REQUEST_TIMEOUT_MS },
  });
});
afterAll(async () => {
  await api.close();
});

const b = (text: string): string => Buffer.from(text).toString('base64');
const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A watch stream whose response lines are read as they come. */
interface OpenWatch {
  outgoing: ClientRequest;
  response: IncomingMessage;
  /** The next response line, parsed (waits for it). */
  next(): Promise<Record<string, unknown>>;
  /** Whether the response ended or the connection broke. */
  ended: () => boolean;
}

function openWatch(keepBodyOpen: boolean, key: string): Promise<OpenWatch> {
  return new Promise((resolve, reject) => {
    const outgoing = request(`${api.baseUrl}/v3/watch`, { method: 'POST', agent: false });
    outgoing.on('error', reject);
    outgoing.on('response', (response) => {
      response.setEncoding('utf8');
      let buffered = '';
      let ended = false;
      const waiting: (() => void)[] = [];
      const wake = (): void => {
        for (const waiter of waiting.splice(0)) waiter();
      };
      response.on('data', (chunk: string) => {
        buffered += chunk;
        wake();
      });
      const end = (): void => {
        ended = true;
        wake();
      };
      response.on('end', end);
      response.on('aborted', end);
      response.on('error', end);
      const next = async (): Promise<Record<string, unknown>> => {
        for (;;) {
          const at = buffered.indexOf('\n');
          if (at >= 0) {
            const line = buffered.slice(0, at);
            buffered = buffered.slice(at + 1);
            return (JSON.parse(line) as { result: Record<string, unknown> }).result;
          }
          if (ended) throw new Error('the watch stream ended');
          await new Promise<void>((resolve) => waiting.push(resolve));
        }
      };
      resolve({ outgoing, response, next, ended: () => ended });
    });
    const create = JSON.stringify({ create_request: { key: b(key), watch_id: 1 } });
    if (keepBodyOpen) outgoing.write(create);
    else outgoing.end(create);
  });
}

describe('a gateway watch and the request timeout', () => {
  it.each([
    ['kept open', true],
    ['ended', false],
  ])('outlives the request timeout with its request body %s', async (_, keepBodyOpen) => {
    const key = `timeout-${String(keepBodyOpen)}`;
    const watch = await openWatch(keepBodyOpen, key);
    try {
      expect(await watch.next()).toMatchObject({ watch_id: '1', created: true });
      await pause(3 * REQUEST_TIMEOUT_MS);
      expect(watch.ended()).toBe(false);
      await api.backend.write({ type: 'put', request: { key, value: 'v', prevKv: false } });
      const events = (await watch.next()).events as { kv: { key: string } }[];
      expect(events.map((event) => event.kv.key)).toEqual([b(key)]);
      if (keepBodyOpen) {
        // The open body still carries requests, past the timeout.
        watch.outgoing.write(JSON.stringify({ cancel_request: { watch_id: 1 } }));
        expect(await watch.next()).toMatchObject({ watch_id: '1', canceled: true });
      }
    } finally {
      watch.outgoing.destroy();
    }
  });

  it('still answers 408 to a watch whose first request never comes', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const outgoing = request(`${api.baseUrl}/v3/watch`, { method: 'POST', agent: false });
      outgoing.on('response', (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      outgoing.on('error', reject);
      outgoing.write('{"create_request":');
    });
    expect(status).toBe(408);
  });
});
