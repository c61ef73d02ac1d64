import { afterEach, describe, expect, it } from 'vitest';
import type { TcpTransport } from './tcp-transport.js';
import { startCluster, waitConnected, waitFor } from './tcp-test-support.js';

let open: TcpTransport[] = [];
afterEach(async () => {
  await Promise.all(open.map((transport) => transport.close()));
  open = [];
});

describe('coalesced writes', () => {
  it('messages queued in one event-loop turn travel in one sealed record', async () => {
    open = await startCluster(['a', 'b']);
    const [a, b] = open as [TcpTransport, TcpTransport];
    await waitConnected(open);
    let received = 0;
    b.onMessage(() => {
      received += 1;
    });
    const sentBefore = a.metrics();
    const receivedBefore = b.metrics();
    for (let index = 0; index < 200; index += 1) a.send('b', 7, Buffer.alloc(100, index));
    await waitFor(() => received === 200);
    const sent = a.metrics();
    expect(sent.framesOut - sentBefore.framesOut).toBe(200);
    expect(sent.recordsOut - sentBefore.recordsOut).toBe(1);
    expect(b.metrics().recordsIn - receivedBefore.recordsIn).toBe(1);
  });

  it('counts the records of large messages, written as pieces, at both ends', async () => {
    open = await startCluster(['a', 'b']);
    const [a, b] = open as [TcpTransport, TcpTransport];
    await waitConnected(open);
    b.onRequest((_from, type, payload) => ({ type, payload }));
    const before = { a: a.metrics(), b: b.metrics() };
    // Each 64 KiB request (and its echo) is past the contiguous bound but within one record.
    for (let index = 0; index < 5; index += 1) {
      const reply = await a.request('b', 1, Buffer.alloc(64 * 1024, index));
      expect(Buffer.from(reply.payload).equals(Buffer.alloc(64 * 1024, index))).toBe(true);
    }
    await waitFor(() => a.metrics().recordsIn - before.a.recordsIn === 5);
    expect(a.metrics().recordsOut - before.a.recordsOut).toBe(5);
    expect(b.metrics().recordsIn - before.b.recordsIn).toBe(5);
    expect(b.metrics().recordsOut - before.b.recordsOut).toBe(5);
  });
});
