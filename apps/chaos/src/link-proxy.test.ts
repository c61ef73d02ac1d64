import type { AddressInfo, Server, Socket } from 'node:net';
import { connect, createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LinkProxy } from './link-proxy.js';
import { SeededRandom } from './seeded-random.js';

/** A tiny echo server standing in for node `b`'s peer port. */
async function startEcho(): Promise<{ server: Server; port: number; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, sockets };
}

const opened: { close(): Promise<void> | void }[] = [];

afterEach(async () => {
  for (const resource of opened.splice(0).reverse()) await resource.close();
});

async function setup(options: { markers?: boolean } = {}) {
  const echo = await startEcho();
  opened.push({
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of echo.sockets) socket.destroy();
        echo.server.close(() => resolve());
      }),
  });
  const proxy = await LinkProxy.start({
    targets: [
      { name: 'a', host: '127.0.0.1', port: 1 },
      { name: 'b', host: '127.0.0.1', port: echo.port },
    ],
    random: new SeededRandom(7),
    ...(options.markers === true
      ? {
          sourceMarkers: new Map([
            ['a', [Buffer.from('node-aaaa')]],
            ['b', [Buffer.from('node-bbbb')]],
          ]),
        }
      : {}),
  });
  opened.push(proxy);
  return { proxy, echo };
}

/** A client connection that collects what it receives. */
async function dial(port: number) {
  const socket = connect({ host: '127.0.0.1', port });
  opened.push({ close: () => void socket.destroy() });
  let received = Buffer.alloc(0);
  let closed = false;
  socket.on('data', (chunk: Buffer) => (received = Buffer.concat([received, chunk])));
  socket.on('error', () => undefined);
  socket.on('close', () => (closed = true));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return {
    socket,
    received: () => received.toString(),
    closed: () => closed,
  };
}

async function eventually(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error('condition not reached');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('LinkProxy', () => {
  it('forwards bytes both ways on a healthy link', async () => {
    const { proxy } = await setup();
    const client = await dial(proxy.linkAddress('a', 'b').port);
    client.socket.write('hello');
    await eventually(() => client.received() === 'hello');
    expect(proxy.statistics().bytesForwarded).toBe(10);
  });

  it('opens one listener per directed link', async () => {
    const { proxy } = await setup();
    expect(proxy.linkAddress('a', 'b').port).not.toBe(proxy.linkAddress('b', 'a').port);
    expect(() => proxy.linkAddress('a', 'a')).toThrow(/no proxy link/);
  });

  it('cuts existing connections when a link is partitioned, and discards bytes of new ones', async () => {
    const { proxy } = await setup();
    const before = await dial(proxy.linkAddress('a', 'b').port);
    proxy.setRule('a', 'b', { kind: 'blackhole' });
    await eventually(() => before.closed());
    const during = await dial(proxy.linkAddress('a', 'b').port);
    during.socket.write('lost');
    await pause(50);
    expect(during.received()).toBe('');
    expect(during.closed()).toBe(false);
    proxy.healAll();
    // Its stream has a hole, so the heal cuts it; a new connection works again.
    await eventually(() => during.closed());
    const after = await dial(proxy.linkAddress('a', 'b').port);
    after.socket.write('back');
    await eventually(() => after.received() === 'back');
  });

  it('partitions one way only: the reverse direction still flows', async () => {
    const { proxy } = await setup();
    // b → a is cut: a's bytes reach the echo server but its answers are discarded.
    proxy.setRule('b', 'a', { kind: 'blackhole' });
    const client = await dial(proxy.linkAddress('a', 'b').port);
    client.socket.write('ping');
    await eventually(() => proxy.statistics().bytesDiscarded === 4);
    expect(proxy.statistics().bytesForwarded).toBe(4);
    expect(client.received()).toBe('');
  });

  it('delays bytes and keeps their order', async () => {
    const { proxy } = await setup();
    proxy.setRule('a', 'b', { kind: 'delay', delayMs: 60, jitterMs: 40 });
    const client = await dial(proxy.linkAddress('a', 'b').port);
    const start = performance.now();
    for (const part of ['1', '2', '3', '4', '5']) {
      client.socket.write(part);
      await pause(2);
    }
    await eventually(() => client.received() === '12345');
    expect(performance.now() - start).toBeGreaterThanOrEqual(55);
  });

  it('releases delayed bytes at once when the delay is lifted', async () => {
    const { proxy } = await setup();
    proxy.setRule('a', 'b', { kind: 'delay', delayMs: 10_000, jitterMs: 0 });
    const client = await dial(proxy.linkAddress('a', 'b').port);
    client.socket.write('held');
    await pause(30);
    expect(client.received()).toBe('');
    proxy.setRule('a', 'b', { kind: 'pass' });
    await eventually(() => client.received() === 'held');
  });

  it('drops a chunk together with its connection', async () => {
    const { proxy } = await setup();
    const client = await dial(proxy.linkAddress('a', 'b').port);
    proxy.setRule('a', 'b', { kind: 'drop', probability: 1 });
    await eventually(() => client.closed());
    const next = await dial(proxy.linkAddress('a', 'b').port);
    next.socket.write('x');
    await eventually(() => next.closed());
    expect(next.received()).toBe('');
    expect(proxy.statistics().connectionsCut).toBe(2);
  });

  it('closes the dialer when the target is down', async () => {
    const { proxy } = await setup();
    const client = await dial(proxy.linkAddress('b', 'a').port); // port 1: nothing listens
    await eventually(() => client.closed());
  });

  it('cuts every connection of a node', async () => {
    const { proxy } = await setup();
    const client = await dial(proxy.linkAddress('a', 'b').port);
    client.socket.write('x');
    await eventually(() => client.received() === 'x');
    expect(proxy.openConnections).toBe(1);
    proxy.cutNode('b');
    await eventually(() => client.closed());
    expect(proxy.openConnections).toBe(0);
  });

  it('identifies the dialer on a shared listener from a marker in its first bytes', async () => {
    const { proxy } = await setup({ markers: true });
    proxy.setRule('a', 'b', { kind: 'blackhole' });
    const fromA = await dial(proxy.sharedAddress('b').port);
    fromA.socket.write('HELLO from node-aaaa to node-bbbb');
    await eventually(() => proxy.statistics().bytesDiscarded > 0);
    expect(fromA.received()).toBe('');
    proxy.healAll();
    const again = await dial(proxy.sharedAddress('b').port);
    again.socket.write('HELLO from ');
    await pause(20);
    again.socket.write('node-aaaa');
    await eventually(() => again.received() === 'HELLO from node-aaaa');
  });

  it('closes a shared-listener connection that names no known dialer', async () => {
    const { proxy } = await setup({ markers: true });
    const stranger = await dial(proxy.sharedAddress('b').port);
    stranger.socket.end('only node-bbbb here');
    await eventually(() => stranger.closed());
    expect(proxy.statistics().unidentifiedConnections).toBe(1);
  });
});
