import { createServer, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { QueueFullError, TransportClosedError, UnknownPeerError } from './errors.js';
import type { TcpTransport, TransportEvent } from './tcp-transport.js';
import {
  closedBy,
  openRaw,
  slowReaderPeer,
  startCluster,
  waitConnected,
  waitFor,
} from './tcp-test-support.js';
import type { UndeliveredMessage } from './types.js';

let open: TcpTransport[] = [];
afterEach(async () => {
  await Promise.all(open.map((transport) => transport.close()));
  open = [];
});

/** Counts of the handle kinds a transport creates (sockets, servers, timers, immediates). */
function activeHandles(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) {
    if (/TCP|Timeout|Immediate|TLS/.test(kind)) counts[kind] = (counts[kind] ?? 0) + 1;
  }
  return counts;
}

/**
 * Handle kinds that grew since `before`. Comparing for equality would be wrong: a timer the test
 * runner itself held before the test may have fired meanwhile, and that is not our leak.
 */
function handlesAddedSince(before: Record<string, number>): Record<string, number> {
  const added: Record<string, number> = {};
  for (const [kind, count] of Object.entries(activeHandles())) {
    const extra = count - (before[kind] ?? 0);
    if (extra > 0) added[kind] = extra;
  }
  return added;
}

/** A port with nothing listening on it. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('lifecycle, bounds and failure semantics', () => {
  it('leaves no handle or timer behind after close, with requests pending', async () => {
    const before = activeHandles();
    const cluster = await startCluster(['a', 'b', 'c']);
    const [a, b, c] = cluster as [TcpTransport, TcpTransport, TcpTransport];
    await waitConnected(cluster);
    c.onRequest(() => new Promise(() => {}));
    b.onRequest((_from, type, payload) => ({ type, payload }));
    await a.request('b', 1, Buffer.from('x'));
    const hanging = a.request('c', 1, Buffer.from('never answered'), { timeoutMs: 60_000 });
    const outcome = hanging.catch((error: unknown) => error);
    c.send('a', 1, Buffer.from('in flight at close'));
    await Promise.all(cluster.map((transport) => transport.close()));
    expect(await outcome).toBeInstanceOf(Error);
    expect(handlesAddedSince(before)).toEqual({});
    await a.close(); // idempotent
  });

  it('queues while disconnected up to the bound, then fails fast with typed errors, and reconnects with backoff', async () => {
    const port = await deadPort();
    const events: TransportEvent[] = [];
    const undelivered: UndeliveredMessage[] = [];
    open = await startCluster(['a'], {
      peers: { a: undefined, z: { host: '127.0.0.1', port } },
      maxQueuedMessages: 10,
      reconnect: { initialDelayMs: 1, maxDelayMs: 8, multiplier: 2, jitter: 0.5 },
    });
    const [a] = open as [TcpTransport];
    a.onEvent((event) => events.push(event));
    a.onUndelivered((_peer, messages) => undelivered.push(...messages));
    for (let index = 0; index < 15; index += 1) a.send('z', 1, Buffer.alloc(10));
    expect(undelivered.map((message) => message.reason)).toEqual(Array(5).fill('queue-full'));
    expect(undelivered.every((message) => !message.maybeDelivered)).toBe(true);
    await expect(a.request('z', 1, Buffer.alloc(1))).rejects.toBeInstanceOf(QueueFullError);
    expect(a.metrics().peers.z).toMatchObject({
      connected: false,
      queuedMessages: 10,
      queuedBytes: 100,
    });
    await waitFor(() => a.metrics().reconnects >= 4, 5000, 'reconnect attempts');
    const delays = events.flatMap((event) =>
      event.kind === 'reconnect-scheduled' ? [event.delayMs] : [],
    );
    expect(delays.every((delay) => delay <= 8)).toBe(true);
    expect(() => a.send('nobody', 1, new Uint8Array(0))).toThrow(UnknownPeerError);
    expect(() => a.send('z', 70_000, new Uint8Array(0))).toThrow(RangeError);
    await a.close();
    expect(undelivered.filter((message) => message.reason === 'closed')).toHaveLength(10);
    await expect(a.request('z', 1, Buffer.alloc(1))).rejects.toBeInstanceOf(TransportClosedError);
  });

  it('holds at most maxPendingHandshakes unauthenticated connections, evicting the oldest idle one', async () => {
    open = await startCluster(['a'], { maxPendingHandshakes: 2, handshakeTimeoutMs: 60_000 });
    const [a] = open as [TcpTransport];
    const idle = [await openRaw(a.address.port), await openRaw(a.address.port)];
    await waitFor(() => a.metrics().openConnections === 2, 2000, 'two pending handshakes');
    const newcomer = await openRaw(a.address.port);
    await closedBy(idle[0]!);
    expect(a.metrics().handshakesRejected['too-many-pending']).toBe(1);
    expect(a.metrics().openConnections).toBe(2);
    expect(newcomer.destroyed).toBe(false);
    for (const socket of [...idle, newcomer]) socket.destroy();
    await waitFor(() => a.metrics().openConnections === 0, 2000, 'idle sockets to close');
  });

  it('keeps at most maxInFlightRequests requests in flight per peer', async () => {
    open = await startCluster(['a', 'b'], { maxInFlightRequests: 4 });
    const [a, b] = open as [TcpTransport, TcpTransport];
    await waitConnected(open);
    const held: (() => void)[] = [];
    b.onRequest(
      (_from, type) =>
        new Promise((resolve) => held.push(() => resolve({ type, payload: new Uint8Array(0) }))),
    );
    const replies = Array.from({ length: 10 }, (_, index) =>
      a.request('b', index, new Uint8Array(0)),
    );
    await waitFor(() => held.length === 4, 5000, 'first window');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(held.length).toBe(4);
    expect(a.metrics().peers.b!.inFlightRequests).toBe(4);
    held[0]!();
    await waitFor(() => held.length === 5, 5000, 'one more after a response');
    for (let index = 1; index < 10; index += 1) {
      await waitFor(() => held.length > index, 5000, 'window to slide');
      held[index]!();
    }
    const types = (await Promise.all(replies)).map((reply) => reply.type);
    expect(types).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('a slow reader that never drains costs the sender bounded memory', async () => {
    const slow = await slowReaderPeer('z');
    try {
      const maxQueuedBytes = 2 * 1024 * 1024;
      open = await startCluster(['a'], {
        peers: { a: undefined, z: { host: '127.0.0.1', port: slow.port } },
        maxQueuedBytes,
      });
      const [a] = open as [TcpTransport];
      await waitFor(() => a.isConnected('z'), 5000, 'slow reader connection');
      let dropped = 0;
      a.onUndelivered((_peer, messages) => (dropped += messages.length));
      const payload = Buffer.alloc(64 * 1024, 1);
      const baseline = process.memoryUsage().arrayBuffers;
      let peak = 0;

      for (let round = 0; round < 50; round += 1) {
        for (let index = 0; index < 20; index += 1) a.send('z', 1, payload); // 64 MiB offered in all
        await new Promise((resolve) => setTimeout(resolve, 2));
        peak = Math.max(peak, process.memoryUsage().arrayBuffers - baseline);
        const gauges = a.metrics().peers.z!;
        expect(gauges.queuedBytes).toBeLessThanOrEqual(maxQueuedBytes);
        // What the socket holds beyond the kernel: at most one batch past its high-water mark.
        expect(gauges.socketBufferedBytes).toBeLessThanOrEqual(64 * 1024 + 64 * 1024 + 12);
      }
      expect(dropped).toBeGreaterThan(800);
      // The queue bound plus one socket buffer and the kernel's share; far below the 64 MiB offered.
      expect(peak).toBeLessThan(16 * 1024 * 1024);
    } finally {
      await Promise.all(open.map((transport) => transport.close()));
      await slow.close();
    }
  }, 20_000);
});
