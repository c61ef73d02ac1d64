import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionLostError } from './errors.js';
import type { TcpTransport } from './tcp-transport.js';
import { startCluster, startCuttableProxy, waitConnected, waitFor } from './tcp-test-support.js';
import type { UndeliveredMessage } from './types.js';

let open: TcpTransport[] = [];
afterEach(async () => {
  await Promise.all(open.map((transport) => transport.close()));
  open = [];
});

function numbered(sequence: number): Buffer {
  const payload = Buffer.alloc(16);
  payload.writeUInt32BE(sequence, 0);
  return payload;
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('ordering on the single socket channel', () => {
  it('delivers 100,000 messages to one peer in order', async () => {
    open = await startCluster(['a', 'b']);
    const [a, b] = open as [TcpTransport, TcpTransport];
    await waitConnected(open);
    const received: number[] = [];
    b.onMessage((_from, _type, payload) => received.push(Buffer.from(payload).readUInt32BE(0)));
    for (let sequence = 0; sequence < 100_000; sequence += 1) {
      a.send('b', 1, numbered(sequence));
      if (sequence % 5000 === 4999) await tick();
    }
    await waitFor(() => received.length === 100_000, 20_000, 'all messages');
    expect(received.every((value, index) => value === index)).toBe(true);
    expect(a.metrics().messagesUndelivered).toBe(0);
  }, 30_000);

  it('with the connection cut mid-stream and restored, delivered messages are in order and every lost one is reported', async () => {
    let proxy: Awaited<ReturnType<typeof startCuttableProxy>> | undefined;
    open = await startCluster(['a', 'b'], {}, async (target) => {
      proxy = await startCuttableProxy(target.address.port);
      return { host: '127.0.0.1', port: proxy.port };
    });
    const [a, b] = open as [TcpTransport, TcpTransport];
    await waitConnected(open);
    try {
      const received: number[] = [];
      const lost: UndeliveredMessage[] = [];
      b.onMessage((_from, _type, payload) => received.push(Buffer.from(payload).readUInt32BE(0)));
      a.onUndelivered((_peer, messages) => lost.push(...messages));
      let held: (() => void) | undefined;
      b.onRequest(
        () =>
          new Promise((resolve) => (held = () => resolve({ type: 0, payload: new Uint8Array(0) }))),
      );

      const total = 50_000;
      let inFlight: Promise<unknown> | undefined;
      for (let sequence = 0; sequence < total; sequence += 1) {
        a.send('b', 1, numbered(sequence));
        if (sequence === 20_000)
          inFlight = a.request('b', 2, new Uint8Array(0)).catch((error: unknown) => error);
        if (sequence % 1000 === 999) await tick();
        if (sequence === 25_000) {
          await waitFor(() => held !== undefined, 5000, 'request to arrive');
          proxy!.cut();
        }
      }
      expect(await inFlight).toBeInstanceOf(ConnectionLostError);
      expect(String(await inFlight)).toMatch(/may or may not have been delivered/);
      await waitFor(
        () => received.length + lost.length === total,
        20_000,
        'every message accounted for',
      );

      for (let index = 1; index < received.length; index += 1) {
        expect(received[index]!).toBeGreaterThan(received[index - 1]!);
      }
      const lostSequences = lost.map((message) => Buffer.from(message.payload).readUInt32BE(0));
      const delivered = new Set(received);
      expect(lostSequences.every((sequence) => !delivered.has(sequence))).toBe(true);
      expect(new Set([...received, ...lostSequences]).size).toBe(total);
      expect(
        lost.every((message) => message.reason === 'connection-lost' && !message.maybeDelivered),
      ).toBe(true);
      expect(lost.length).toBeGreaterThan(0);
      expect(received.length).toBeGreaterThan(25_000);
      expect(a.metrics().reconnects).toBeGreaterThanOrEqual(1);
    } finally {
      await proxy!.close();
    }
  }, 30_000);

  it('acknowledges one-way messages with the reply they provoke, or alone after the delay', async () => {
    open = await startCluster(['a', 'b'], { acknowledgementDelayMs: 1000 });
    const [a, b] = open as [TcpTransport, TcpTransport];
    await waitConnected(open);
    let echo = true;
    b.onMessage((from, type, payload) => {
      if (echo) b.send(from, type, payload);
    });
    const echoed: number[] = [];
    a.onMessage((_from, _type, payload) => echoed.push(Buffer.from(payload).readUInt32BE(0)));
    for (let sequence = 0; sequence < 3; sequence += 1) a.send('b', 1, numbered(sequence));
    await waitFor(() => echoed.length === 3, 5000, 'echoes');
    // b's acknowledgement went out with its first echo, long before its 1 s timer.
    await waitFor(() => a.metrics().peers['b']!.unacknowledged === 0, 500, 'acknowledgement');
    expect(echoed).toEqual([0, 1, 2]);

    echo = false;
    const start = performance.now();
    for (let sequence = 3; sequence < 6; sequence += 1) a.send('b', 1, numbered(sequence));
    await waitFor(() => a.metrics().peers['b']!.unacknowledged === 3, 1000, 'written');
    await waitFor(() => a.metrics().peers['b']!.unacknowledged === 0, 5000, 'lone acknowledgement');
    expect(performance.now() - start).toBeGreaterThanOrEqual(950);
    expect(a.metrics().messagesUndelivered).toBe(0);
  });

  it('reports unacknowledged messages as maybe delivered when the peer comes back as a new incarnation', async () => {
    let proxy: Awaited<ReturnType<typeof startCuttableProxy>> | undefined;
    open = await startCluster(['a', 'b'], {}, async (target) => {
      proxy = await startCuttableProxy(target.address.port);
      return { host: '127.0.0.1', port: proxy.port };
    });
    const [a, b] = open as [TcpTransport, TcpTransport];
    await waitConnected(open);
    try {
      const received = new Set<number>();
      const lost: UndeliveredMessage[] = [];
      b.onMessage((_from, _type, payload) => received.add(Buffer.from(payload).readUInt32BE(0)));
      a.onUndelivered((_peer, messages) => lost.push(...messages));
      const total = 20_000;
      for (let sequence = 0; sequence < total; sequence += 1) {
        a.send('b', 1, numbered(sequence));
        if (sequence % 1000 === 999) await tick();
      }
      proxy!.cut();
      await b.close();
      const [restarted] = await startCluster(['b'], { peers: { a: undefined, b: undefined } });
      open.push(restarted!);
      a.setPeerAddress('b', restarted!.address);
      await waitFor(() => a.isConnected('b'), 5000, 'reconnect to the new incarnation');
      await waitFor(
        () => received.size + lost.length >= total,
        5000,
        'every message accounted for',
      );
      expect(lost.length).toBeGreaterThan(0);
      expect(
        lost.every((message) => message.reason === 'peer-restarted' && message.maybeDelivered),
      ).toBe(true);
      const reported = lost.map((message) => Buffer.from(message.payload).readUInt32BE(0));
      expect(new Set([...received, ...reported]).size).toBe(total);
    } finally {
      await proxy!.close();
    }
  }, 30_000);
});
