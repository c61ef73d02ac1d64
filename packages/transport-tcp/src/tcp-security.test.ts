import { randomBytes } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ControlType, FRAME_HEADER_BYTES, FrameFlags } from './frame.js';
import { decodeChallenge, encodeHello, INCARNATION_BYTES, NONCE_BYTES } from './handshake.js';
import type { TcpTransport, TransportEvent } from './tcp-transport.js';
import {
  closedBy,
  encodeFrame,
  openRaw,
  rawDial,
  startCluster,
  waitConnected,
  waitFor,
} from './tcp-test-support.js';

let open: TcpTransport[] = [];
const servers: Server[] = [];
const sockets = new Set<Socket>();

afterEach(async () => {
  await Promise.all(open.map((transport) => transport.close()));
  open = [];
  for (const socket of sockets) socket.destroy();
  sockets.clear();
  await Promise.all(servers.splice(0).map((server) => new Promise((r) => server.close(r))));
});

/**
 * An on-path proxy to `targetPort`. While `tamper` is set it flips one bit in the next chunk
 * flowing from the dialer to the acceptor (then clears it); it records every byte it forwards.
 */
async function tamperingProxy(targetPort: number): Promise<{
  port: number;
  seen: Buffer[];
  tamperNext(): void;
  tampered(): number;
}> {
  let armed = false;
  let flips = 0;
  const seen: Buffer[] = [];
  const server = createServer((inbound) => {
    const outbound = connect({ host: '127.0.0.1', port: targetPort });
    sockets.add(inbound).add(outbound);
    inbound.on('data', (chunk: Buffer) => {
      seen.push(Buffer.from(chunk));
      if (armed && chunk.length > 0) {
        armed = false;
        flips += 1;
        chunk[chunk.length - 1]! ^= 0x01;
      }
      outbound.write(chunk);
    });
    outbound.on('data', (chunk: Buffer) => {
      seen.push(Buffer.from(chunk));
      inbound.write(chunk);
    });
    const drop = (): void => {
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on('close', drop).on('error', drop);
    outbound.on('close', drop).on('error', drop);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    tamperNext: () => {
      armed = true;
    },
    tampered: () => flips,
  };
}

describe('after the handshake every frame is sealed', () => {
  it('a flipped bit on the wire is detected: connection dropped, nothing altered delivered, then reconnects', async () => {
    const proxies: Awaited<ReturnType<typeof tamperingProxy>>[] = [];
    open = await startCluster(['a', 'b'], {}, async (target) => {
      const proxy = await tamperingProxy(target.address.port);
      proxies.push(proxy);
      return { host: '127.0.0.1', port: proxy.port };
    });
    const [a, b] = open as [TcpTransport, TcpTransport];
    const proxy = proxies[0]!;
    const events: TransportEvent[] = [];
    b.onEvent((event) => events.push(event));
    const received: string[] = [];
    b.onMessage((_from, _type, payload) => received.push(Buffer.from(payload).toString()));
    await waitConnected(open);

    a.send('b', 1, Buffer.from('before: value-0001'));
    await waitFor(() => received.length === 1, 5000, 'first message');
    proxy.tamperNext();
    a.send('b', 1, Buffer.from('tampered: value-0002'));
    await waitFor(() => b.metrics().integrityFailures === 1, 5000, 'integrity failure');
    expect(proxy.tampered()).toBe(1);
    expect(events).toContainEqual(
      expect.objectContaining({ kind: 'integrity-failure', peer: 'a' }),
    );
    await waitFor(() => a.isConnected('b') && b.isConnected('a'), 5000, 'reconnect');
    a.send('b', 1, Buffer.from('after: value-0003'));
    await waitFor(() => received.includes('after: value-0003'), 5000, 'message after reconnect');
    // The tampered message is reported lost to the sender (never delivered altered); nothing
    // delivered differs from what was sent.
    expect(received.every((text) => /^(before: value-0001|after: value-0003)$/.test(text))).toBe(
      true,
    );
    // And nobody on the path could read it.
    const wire = Buffer.concat(proxy.seen);
    for (const text of ['value-0001', 'value-0002', 'value-0003']) {
      expect(wire.includes(Buffer.from(text))).toBe(false);
    }
  });
});

describe('the acceptor proves nothing to a stranger', () => {
  it('answers a hello with its nonce only, and a bad proof with nothing but a close', async () => {
    open = await startCluster(['a', 'b']);
    const [, b] = open as [TcpTransport, TcpTransport];
    const socket = await openRaw(b.address.port);
    sockets.add(socket);
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    const hello = {
      clusterId: 'test',
      dialerId: 'a',
      acceptorId: 'b',
      dialerNonce: randomBytes(NONCE_BYTES),
      dialerIncarnation: randomBytes(INCARNATION_BYTES),
    };
    socket.write(encodeFrame(FrameFlags.control, ControlType.hello, 0, encodeHello(hello)));
    await waitFor(() => Buffer.concat(received).length > FRAME_HEADER_BYTES, 5000, 'challenge');
    const challengeFrame = Buffer.concat(received);
    // The challenge is exactly the acceptor's id, nonce and incarnation: no MAC to test guesses on.
    const challenge = decodeChallenge(challengeFrame.subarray(FRAME_HEADER_BYTES));
    expect(challenge.acceptorId).toBe('b');
    const rejected = b.metrics().handshakesRejected['bad-proof'];
    const forged = await rawDial(b.address.port, 'a', 'b', { proofOverride: randomBytes(32) });
    sockets.add(forged);
    await closedBy(forged);
    expect(b.metrics().handshakesRejected['bad-proof']).toBe(rejected + 1);
  });
});

describe('a flood of idle sockets cannot keep a real peer out', () => {
  it('the peer connects while one address keeps idle sockets coming', async () => {
    // b accepts; a (the real peer) dials it from the same loopback address as the flood. The
    // handshake timeout is far longer than the test, so only admission control can make room.
    const [b] = (open = await startCluster(['b'], {
      peers: { a: undefined, b: undefined },
      handshakeTimeoutMs: 120_000,
    })) as [TcpTransport];
    let flooding = true;
    const flood = async (): Promise<void> => {
      while (flooding) {
        const socket = connect({ host: '127.0.0.1', port: b.address.port });
        socket.on('error', () => undefined);
        socket.on('close', () => sockets.delete(socket));
        sockets.add(socket);
        await new Promise((resolve) => setTimeout(resolve, sockets.size < 100 ? 0 : 5));
      }
    };
    const flooder = flood();
    try {
      // Past every bound: old code refused newcomers here, this code evicts idle sockets.
      await waitFor(
        () => b.metrics().handshakesRejected['too-many-pending'] >= 100,
        10_000,
        'flood past the bounds',
      );
      const [a] = (await startCluster(['a'], {
        peers: { a: undefined, b: b.address },
        handshakeTimeoutMs: 120_000,
      })) as [TcpTransport];
      open.push(a);
      await waitFor(() => a.isConnected('b') && b.isConnected('a'), 10_000, 'real peer in');
      expect(b.metrics().handshakesCompleted).toBe(1);
    } finally {
      flooding = false;
      await flooder;
    }
  }, 30_000);
});
