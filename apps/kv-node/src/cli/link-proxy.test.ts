import type { AddressInfo, Server, Socket } from 'node:net';
import { connect, createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LinkProxy } from './link-proxy.js';
import type { Random } from './link-proxy.js';

/** A seeded generator (a linear congruential one is enough here), so any drop is reproducible. */
function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return {
    next() {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      return state / 4294967296;
    },
  };
}

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

async function setup(
  options: { markers?: boolean; linkListeners?: boolean; sharedPort?: number } = {},
) {
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
      {
        name: 'b',
        host: '127.0.0.1',
        port: echo.port,
        ...(options.sharedPort === undefined ? {} : { sharedPort: options.sharedPort }),
      },
    ],
    random: seededRandom(7),
    ...(options.linkListeners === undefined ? {} : { linkListeners: options.linkListeners }),
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

  it('tampers with bytes past the spared prefix, one byte per chunk, and counts them', async () => {
    const { proxy } = await setup();
    proxy.setRule('a', 'b', { kind: 'tamper', probability: 1, afterBytes: 4 });
    const client = await dial(proxy.linkAddress('a', 'b').port);
    let received = Buffer.alloc(0);
    client.socket.on('data', (chunk: Buffer) => (received = Buffer.concat([received, chunk])));
    const sent = 'HELLO-peer-frame-payload';
    client.socket.write(sent);
    await eventually(() => received.length >= sent.length);
    expect(received.length).toBe(sent.length);
    expect(received.subarray(0, 4).toString()).toBe('HELL');
    let changed = 0;
    for (let index = 0; index < sent.length; index++) {
      if (received[index] !== sent.charCodeAt(index)) changed++;
    }
    expect(changed).toBeGreaterThan(0);
    expect(proxy.statistics().bytesTampered).toBe(changed);
  });

  it('leaves a tampered link untouched once it passes again', async () => {
    const { proxy } = await setup();
    proxy.setRule('a', 'b', { kind: 'tamper', probability: 1 });
    proxy.setRule('a', 'b', { kind: 'pass' });
    const client = await dial(proxy.linkAddress('a', 'b').port);
    client.socket.write('intact');
    await eventually(() => client.received() === 'intact');
    expect(proxy.statistics().bytesTampered).toBe(0);
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
    client.socket.write('unheard');
    await eventually(() => client.closed());
    expect(client.received()).toBe('');
    expect(proxy.openConnections).toBe(0);
    expect(proxy.statistics().bytesForwarded).toBe(0);
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

  it('isolates a node both ways, and heals it', async () => {
    const { proxy } = await setup();
    const before = await dial(proxy.linkAddress('a', 'b').port);
    proxy.isolate('b');
    expect(proxy.ruleOf('a', 'b').kind).toBe('blackhole');
    expect(proxy.ruleOf('b', 'a').kind).toBe('blackhole');
    await eventually(() => before.closed());
    expect(() => proxy.isolate('c')).toThrow(/no proxy target c/);
    proxy.healAll();
    expect(proxy.ruleOf('a', 'b').kind).toBe('pass');
    const after = await dial(proxy.linkAddress('a', 'b').port);
    after.socket.write('back');
    await eventually(() => after.received() === 'back');
  });

  it('opens only shared listeners, on the ports asked for, when told to', async () => {
    const free = await new Promise<number>((resolve) => {
      const probe = createServer();
      probe.listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const { proxy } = await setup({ markers: true, linkListeners: false, sharedPort: free });
    expect(proxy.sharedAddress('b').port).toBe(free);
    expect(() => proxy.linkAddress('a', 'b')).toThrow(/no proxy link/);
    const fromA = await dial(free);
    fromA.socket.write('HELLO from node-aaaa');
    await eventually(() => fromA.received() === 'HELLO from node-aaaa');
  });

  it('rejects the start when a shared port is taken, and leaves nothing listening', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    opened.push({ close: () => new Promise<void>((resolve) => taken.close(() => resolve())) });
    const port = (taken.address() as AddressInfo).port;
    await expect(
      LinkProxy.start({
        targets: [
          { name: 'a', host: '127.0.0.1', port: 1 },
          { name: 'b', host: '127.0.0.1', port: 2, sharedPort: port },
        ],
        random: seededRandom(1),
        sourceMarkers: new Map([
          ['a', [Buffer.from('node-aaaa')]],
          ['b', [Buffer.from('node-bbbb')]],
        ]),
      }),
    ).rejects.toThrow(/EADDRINUSE/);
  });

  it('takes a node added while it runs: its links, its shared listener, isolate', async () => {
    const echo = await startEcho();
    opened.push({
      close: () =>
        new Promise<void>((resolve) => {
          for (const socket of echo.sockets) socket.destroy();
          echo.server.close(() => resolve());
        }),
    });
    const markers = new Map<string, Uint8Array[]>([['a', [Buffer.from('node-aaaa')]]]);
    const proxy = await LinkProxy.start({
      targets: [{ name: 'a', host: '127.0.0.1', port: 1 }],
      random: seededRandom(3),
      sourceMarkers: markers,
    });
    opened.push(proxy);
    await proxy.addTarget({ name: 'c', host: '127.0.0.1', port: echo.port });
    markers.set('c', [Buffer.from('node-cccc')]);
    await expect(proxy.addTarget({ name: 'c', host: '127.0.0.1', port: 1 })).rejects.toThrow(
      /exists/,
    );
    const linked = await dial(proxy.linkAddress('a', 'c').port);
    linked.socket.write('over the link');
    await eventually(() => linked.received() === 'over the link');
    const shared = await dial(proxy.sharedAddress('c').port);
    shared.socket.write('HELLO from node-aaaa to node-cccc');
    await eventually(() => shared.received() === 'HELLO from node-aaaa to node-cccc');
    proxy.isolate('c');
    expect(proxy.ruleOf('a', 'c').kind).toBe('blackhole');
    expect(proxy.ruleOf('c', 'a').kind).toBe('blackhole');
    await eventually(() => linked.closed() && shared.closed());
  });
});
