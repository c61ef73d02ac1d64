import { afterEach, describe, expect, it } from 'vitest';
import { RemoteHandlerError, TransportTimeoutError } from './errors.js';
import type { TcpTransport } from './tcp-transport.js';
import { startCluster, waitConnected, waitFor } from './tcp-test-support.js';

let open: TcpTransport[] = [];
afterEach(async () => {
  await Promise.all(open.map((transport) => transport.close()));
  open = [];
});

describe('TcpTransport', () => {
  it('connects two nodes and delivers one-way messages and requests', async () => {
    open = await startCluster(['a', 'b']);
    const [a, b] = open as [TcpTransport, TcpTransport];
    await waitConnected(open);
    const received: string[] = [];
    b.onMessage((from, type, payload) =>
      received.push(`${from}:${type}:${Buffer.from(payload).toString()}`),
    );
    a.send('b', 7, Buffer.from('hello'));
    await waitFor(() => received.length === 1);
    expect(received).toEqual(['a:7:hello']);

    a.onRequest((from, type, payload) => ({
      type: type + 1,
      payload: Buffer.concat([Buffer.from(from), payload]),
    }));
    const reply = await b.request('a', 41, Buffer.from('!'));
    expect(reply.type).toBe(42);
    expect(Buffer.from(reply.payload).toString()).toBe('b!');
  });

  it('rejects a request the peer does not answer with a typed timeout', async () => {
    open = await startCluster(['a', 'b']);
    const [a, b] = open as [TcpTransport, TcpTransport];
    await waitConnected(open);
    b.onRequest(() => new Promise(() => {}));
    await expect(a.request('b', 1, new Uint8Array(1), { timeoutMs: 30 })).rejects.toBeInstanceOf(
      TransportTimeoutError,
    );
    expect(a.metrics().requestsTimedOut).toBe(1);
  });

  it('reports a failing remote handler as RemoteHandlerError', async () => {
    open = await startCluster(['a', 'b']);
    const [a, b] = open as [TcpTransport, TcpTransport];
    await waitConnected(open);
    b.onRequest(() => {
      throw new Error('boom');
    });
    await expect(a.request('b', 1, new Uint8Array(0))).rejects.toThrow(RemoteHandlerError);
  });
});
