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
    expect(sent.socketWrites - sentBefore.socketWrites).toBe(1);
    expect(b.metrics().recordsIn - receivedBefore.recordsIn).toBe(1);
  });

  it('sends from synchronous code, microtasks and next ticks of one turn share one write', async () => {
    open = await startCluster(['a', 'b']);
    const [a, b] = open as [TcpTransport, TcpTransport];
    await waitConnected(open);
    const received: number[] = [];
    b.onMessage((_from, type) => {
      received.push(type);
    });
    const before = a.metrics();
    a.send('b', 1, Buffer.alloc(10));
    queueMicrotask(() => a.send('b', 2, Buffer.alloc(10)));
    process.nextTick(() => a.send('b', 3, Buffer.alloc(10)));
    void Promise.resolve().then(() => queueMicrotask(() => a.send('b', 4, Buffer.alloc(10))));
    await waitFor(() => received.length === 4);
    // The order among the queues depends on where the test body runs; the sends' order is kept.
    expect([...received].sort()).toEqual([1, 2, 3, 4]);
    const after = a.metrics();
    expect(after.framesOut - before.framesOut).toBe(4);
    expect(after.recordsOut - before.recordsOut).toBe(1);
    expect(after.socketWrites - before.socketWrites).toBe(1);
  });

  it('seals small frames and large payloads (written by reference) of one batch as one record', async () => {
    open = await startCluster(['a', 'b']);
    const [a, b] = open as [TcpTransport, TcpTransport];
    await waitConnected(open);
    const sizes = [100, 20 * 1024, 100, 30 * 1024, 100];
    const received: Buffer[] = [];
    b.onMessage((_from, _type, payload) => {
      received.push(Buffer.from(payload));
    });
    const before = { a: a.metrics(), b: b.metrics() };
    sizes.forEach((size, index) => a.send('b', 1, Buffer.alloc(size, index + 1)));
    await waitFor(() => received.length === sizes.length);
    expect(received.map((payload) => payload.length)).toEqual(sizes);
    received.forEach((payload, index) =>
      expect(payload.equals(Buffer.alloc(sizes[index]!, index + 1))).toBe(true),
    );
    // Past the 16 KiB contiguous bound: its pieces are corked into one write.
    expect(a.metrics().recordsOut - before.a.recordsOut).toBe(1);
    expect(a.metrics().socketWrites - before.a.socketWrites).toBe(1);
    expect(b.metrics().recordsIn - before.b.recordsIn).toBe(1);
  });

  it('cuts a long turn into one record and one write per 64 KiB batch', async () => {
    open = await startCluster(['a', 'b']);
    const [a, b] = open as [TcpTransport, TcpTransport];
    await waitConnected(open);
    let received = 0;
    b.onMessage(() => {
      received += 1;
    });
    const messages = 2000;
    const frameBytes = 12 + 100;
    const before = a.metrics();
    for (let index = 0; index < messages; index += 1) a.send('b', 7, Buffer.alloc(100, index));
    await waitFor(() => received === messages);
    const after = a.metrics();
    const batches = Math.ceil((messages * frameBytes) / (64 * 1024));
    expect(after.recordsOut - before.recordsOut).toBe(batches);
    expect(after.socketWrites - before.socketWrites).toBe(batches);
  });

  it('an acknowledgement rides on the reply rather than in a write of its own', async () => {
    open = await startCluster(['a', 'b'], { acknowledgementDelayMs: 0 });
    const [a, b] = open as [TcpTransport, TcpTransport];
    await waitConnected(open);
    let replies = 0;
    a.onMessage(() => {
      replies += 1;
    });
    b.onMessage((from, type, payload) => b.send(from, type, payload));
    const before = b.metrics();
    for (let round = 1; round <= 10; round += 1) {
      a.send('b', 1, Buffer.alloc(50, round));
      await waitFor(() => replies === round);
    }
    const after = b.metrics();
    // Each round: one record holding the acknowledgement and the reply, in one write.
    expect(after.socketWrites - before.socketWrites).toBe(10);
    expect(after.recordsOut - before.recordsOut).toBe(10);
    expect(after.framesOut - before.framesOut).toBe(20);
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
    // A request whose response comes back before the next is sent: a write per record each way.
    expect(a.metrics().socketWrites - before.a.socketWrites).toBe(5);
    expect(b.metrics().socketWrites - before.b.socketWrites).toBe(5);
  });
});
