import { DEFAULT_API_LIMITS } from '../http/api-limits.js';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { GrpcGateway } from './grpc-gateway.js';
import { chooseAlpnProtocol, serveGrpcOnSamePort } from './same-port.js';

const PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';

let server: Server | undefined;
const sockets: Socket[] = [];
/** Server-side sockets handed to the fake gateway: the HTTP server no longer closes them. */
const handedOver: Duplex[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const socket of handedOver.splice(0)) socket.destroy();
  const closing = server;
  if (closing !== undefined) {
    closing.closeAllConnections();
    await new Promise<void>((resolve) => closing.close(() => resolve()));
  }
  server = undefined;
});

/** An HTTP server on the same port as a gateway that records the connections it is given. */
async function start(headersTimeoutMs = 5000): Promise<{ port: number; injected: Duplex[] }> {
  const injected: Duplex[] = [];
  const gateway: GrpcGateway = {
    injectConnection: (connection) => {
      injected.push(connection);
      handedOver.push(connection);
    },
    close: () => undefined,
  };
  server = createServer(
    { headersTimeout: headersTimeoutMs, requestTimeout: 10_000 },
    (request, response) => {
      response.end(`served ${request.method} ${request.url}`);
    },
  );
  serveGrpcOnSamePort(server, gateway, DEFAULT_API_LIMITS.maxRequestBytes);
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, injected };
}

/** Writes `text` one byte per event-loop turn, so each byte may arrive alone. */
async function drip(socket: Socket, text: string): Promise<void> {
  for (const character of text) {
    socket.write(character);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

function open(port: number): Socket {
  const socket = connect(port, '127.0.0.1');
  sockets.push(socket);
  return socket;
}

describe('serveGrpcOnSamePort', () => {
  it('serves HTTP/1.1 that arrives a byte at a time, even when it starts like the preface', async () => {
    const { port, injected } = await start();
    const socket = open(port);
    let reply = '';
    socket.on('data', (chunk: Buffer) => (reply += chunk.toString()));
    const closed = new Promise((resolve) => socket.on('close', resolve));
    // "P" then "O": the first byte matches the HTTP/2 preface, the second does not.
    await drip(
      socket,
      'POST /x HTTP/1.1\r\nhost: a\r\ncontent-length: 0\r\nconnection: close\r\n\r\n',
    );
    await closed;
    expect(reply).toMatch(/^HTTP\/1\.1 200/);
    expect(reply).toMatch(/served POST \/x$/);
    expect(injected).toHaveLength(0);
  });

  it('hands a connection over once the whole preface has arrived, with nothing lost', async () => {
    const { port, injected } = await start();
    const socket = open(port);
    await drip(socket, PREFACE);
    // An empty SETTINGS frame: the hand-over passes on whole frames (lenient-authority.ts).
    const settings = '\x00\x00\x00\x04\x00\x00\x00\x00\x00';
    socket.write(settings, 'latin1');
    for (let turn = 0; turn < 200 && injected.length === 0; turn++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(injected).toHaveLength(1);
    const handed = injected[0] as Duplex;
    let received = '';
    for (let turn = 0; turn < 200 && received.length < PREFACE.length + 9; turn++) {
      const chunk = handed.read() as Buffer | null;
      if (chunk !== null) received += chunk.toString('latin1');
      else await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(received).toBe(`${PREFACE}${settings}`);
  });

  it('drops a connection that sends nothing within the headers timeout', async () => {
    const { port, injected } = await start(200);
    const socket = open(port);
    socket.resume();
    await new Promise((resolve) => socket.on('close', resolve));
    expect(injected).toHaveLength(0);
  });
});

describe('chooseAlpnProtocol', () => {
  it('keeps HTTP/1.1 for clients that offer it and gives h2 only to those that offer nothing else', () => {
    expect(chooseAlpnProtocol({ protocols: ['h2', 'http/1.1'] })).toBe('http/1.1');
    expect(chooseAlpnProtocol({ protocols: ['http/1.1'] })).toBe('http/1.1');
    expect(chooseAlpnProtocol({ protocols: ['h2'] })).toBe('h2');
    expect(chooseAlpnProtocol({ protocols: ['acme-tls/1'] })).toBeUndefined();
  });
});
