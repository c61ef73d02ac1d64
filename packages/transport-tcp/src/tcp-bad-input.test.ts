import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlType, FrameFlags } from './frame.js';
import type { TcpTransport } from './tcp-transport.js';
import {
  closedBy,
  encodeFrame,
  openRaw,
  rawDial,
  startCluster,
  waitFor,
  writeSealed,
} from './tcp-test-support.js';

// Two real nodes, b dials c. 'a' is a configured peer that only these tests impersonate with raw
// sockets; every bad input goes to c, and after each one c must still serve b unchanged.
let b: TcpTransport;
let c: TcpTransport;
let received: string[];

beforeAll(async () => {
  // 'a' is started only to give every node the same peer list, then closed for good.
  const withA = await startCluster(['a', 'b', 'c'], { handshakeTimeoutMs: 200 });
  [, b, c] = withA as [TcpTransport, TcpTransport, TcpTransport];
  await withA[0]!.close();
  received = [];
  c.onMessage((from, type, payload) => received.push(`${from}:${type}:${payload.length}`));
  c.onRequest((_from, type, payload) => ({ type, payload }));
  await waitFor(() => b.isConnected('c') && c.isConnected('b'), 5000, 'b-c connection');
});

afterAll(async () => {
  await Promise.all([b.close(), c.close()]);
});

/** c still serves b on the same connection, and no stray connection is left behind. */
async function expectServerUnchanged(): Promise<void> {
  const before = c.metrics();
  const reply = await b.request('c', 9, Buffer.from('still there?'));
  expect(Buffer.from(reply.payload).toString()).toBe('still there?');
  expect(c.isConnected('b')).toBe(true);
  const after = c.metrics();
  expect(after.handshakesCompleted).toBe(before.handshakesCompleted);
  await waitFor(() => c.metrics().openConnections === 1, 2000, 'stray connections to close');
}

async function expectRejectedBy(socket: Socket, reason: string, before: number): Promise<void> {
  await closedBy(socket);
  const rejected = c.metrics().handshakesRejected as Record<string, number>;
  expect(rejected[reason]).toBe(before + 1);
}

function rejectedCount(reason: string): number {
  return (c.metrics().handshakesRejected as Record<string, number>)[reason]!;
}

describe('bad input leaves the server up and its state unchanged', () => {
  it('random garbage bytes', async () => {
    const before = rejectedCount('malformed') + rejectedCount('wrong-version');
    const socket = await openRaw(c.address.port);
    socket.write(randomBytes(4096));
    await closedBy(socket);
    expect(
      rejectedCount('malformed') +
        rejectedCount('wrong-version') +
        c.metrics().handshakesRejected.timeout,
    ).toBeGreaterThan(before);
    await expectServerUnchanged();
  });

  it('a frame claiming 4 GiB is rejected before allocation (buffer memory grows under 1 MiB)', async () => {
    const claim = Buffer.alloc(12);
    claim.writeUInt32BE(0xffffffff, 0);
    claim[4] = 1;
    claim[5] = FrameFlags.control;
    claim.writeUInt16BE(ControlType.hello, 6);
    // A frame's bytes would live in an ArrayBuffer, so that is what is measured: RSS also moves
    // with the JS heap, which Node 24's V8 grows by ~10 MiB here on its own, and RSS misses an
    // allocUnsafe whose pages are never touched, which `arrayBuffers` counts in full.
    const buffersBefore = process.memoryUsage().arrayBuffers;
    const stranger = await openRaw(c.address.port);
    stranger.write(claim);
    await closedBy(stranger);
    // The same claim from an authenticated peer, against the 16 MiB limit.
    const peer = await rawDial(c.address.port, 'a', 'c');
    const protocolErrors = c.metrics().protocolErrors;
    peer.write(claim);
    await closedBy(peer);
    const growth = process.memoryUsage().arrayBuffers - buffersBefore;
    expect(growth).toBeLessThan(1024 * 1024);
    expect(c.metrics().protocolErrors).toBe(protocolErrors + 1);
    await expectServerUnchanged();
  });

  it('1,000 truncated frames then disconnects leave no connection behind', async () => {
    const truncated = encodeFrame(
      FrameFlags.control,
      ControlType.hello,
      0,
      randomBytes(200),
    ).subarray(0, 60);
    for (let wave = 0; wave < 20; wave += 1) {
      await Promise.all(
        Array.from({ length: 50 }, async () => {
          const socket = await openRaw(c.address.port);
          socket.write(truncated);
          socket.destroy();
          await closedBy(socket);
        }),
      );
    }
    await waitFor(() => c.metrics().openConnections === 1, 5000, 'truncated connections to close');
    // Truncated frames from an authenticated peer as well.
    const peer = await rawDial(c.address.port, 'a', 'c');
    peer.write(encodeFrame(0, 1, 0, randomBytes(1000)).subarray(0, 500));
    peer.destroy();
    await expectServerUnchanged();
  });

  it('a valid frame of an unknown type', async () => {
    const before = rejectedCount('malformed');
    const stranger = await openRaw(c.address.port);
    stranger.write(encodeFrame(FrameFlags.control, 99, 0, Buffer.alloc(8)));
    await expectRejectedBy(stranger, 'malformed', before);

    const peer = await rawDial(c.address.port, 'a', 'c');
    const protocolErrors = c.metrics().protocolErrors;
    writeSealed(peer, encodeFrame(FrameFlags.control, 99, 0, Buffer.alloc(8)));
    await closedBy(peer);
    const badFlags = await rawDial(c.address.port, 'a', 'c');
    writeSealed(badFlags, encodeFrame(0x40, 1, 0, Buffer.alloc(8)));
    await closedBy(badFlags);
    expect(c.metrics().protocolErrors).toBe(protocolErrors + 2);
    await expectServerUnchanged();
  });

  it('a message type tag the receiver does not know is delivered as opaque bytes', async () => {
    b.send('c', 0xfffe, Buffer.alloc(3));
    await waitFor(() => received.includes(`b:${0xfffe}:3`));
    await expectServerUnchanged();
  });

  it('wrong cluster id', async () => {
    const before = rejectedCount('wrong-cluster');
    const socket = await rawDial(c.address.port, 'a', 'c', { clusterId: 'another-cluster' });
    await expectRejectedBy(socket, 'wrong-cluster', before);
    await expectServerUnchanged();
  });

  it('bad HMAC proof', async () => {
    const before = rejectedCount('bad-proof');
    const socket = await rawDial(c.address.port, 'a', 'c', { proofOverride: randomBytes(32) });
    await expectRejectedBy(socket, 'bad-proof', before);
    const wrongSecret = await rawDial(c.address.port, 'a', 'c', {
      secret: 'guessed',
    });
    await closedBy(wrongSecret);
    expect(rejectedCount('bad-proof')).toBe(before + 2);
    await expectServerUnchanged();
  });

  it('unknown node id', async () => {
    const before = rejectedCount('unknown-node');
    const socket = await rawDial(c.address.port, 'a-stranger', 'c');
    await expectRejectedBy(socket, 'unknown-node', before);
    await expectServerUnchanged();
  });

  it('a dial from the higher id (one connection per pair: the lower id dials)', async () => {
    const before = (b.metrics().handshakesRejected as Record<string, number>)['wrong-direction']!;
    const socket = await rawDial(b.address.port, 'c', 'b');
    await closedBy(socket);
    expect(b.metrics().handshakesRejected['wrong-direction']).toBe(before + 1);
    await expectServerUnchanged();
  });

  it('a second authenticated connection from the same node replaces the first', async () => {
    const first = await rawDial(c.address.port, 'a', 'c');
    await waitFor(() => c.isConnected('a'), 2000, 'first connection');
    const second = await rawDial(c.address.port, 'a', 'c');
    await closedBy(first);
    expect(c.isConnected('a')).toBe(true);
    second.destroy();
    await waitFor(() => !c.isConnected('a'), 2000, 'second connection to close');
    await expectServerUnchanged();
  });

  it('wrong protocol version (a version-1 peer, which proved second and sealed nothing)', async () => {
    const before = rejectedCount('wrong-version');
    const socket = await openRaw(c.address.port);
    const frame = encodeFrame(FrameFlags.control, ControlType.hello, 0, Buffer.alloc(10));
    frame[4] = 1;
    socket.write(frame);
    await expectRejectedBy(socket, 'wrong-version', before);
    await expectServerUnchanged();
  });

  it('a peer that connects and sends nothing hits the handshake timeout', async () => {
    const before = rejectedCount('timeout');
    const socket = await openRaw(c.address.port);
    await expectRejectedBy(socket, 'timeout', before);
    await expectServerUnchanged();
  });
});
