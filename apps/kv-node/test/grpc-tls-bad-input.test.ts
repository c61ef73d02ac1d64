/**
 * Bad input on a TLS client port (ALPN `h2`), as `grpc-bad-input.test.ts` sends it on a plain
 * one: a message claiming 2 GiB, request messages held past the connection's bound, 10,000
 * streams at once. Each gets a clear gRPC status or HTTP/2 refusal, what the member holds for the
 * connection is bounded (the messages past the bound are refused, not held), and the member
 * answers a normal request afterwards, over gRPC and over HTTPS.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { connect as connectHttp2, constants } from 'node:http2';
import type { ClientHttp2Session, ClientHttp2Stream, IncomingHttpHeaders } from 'node:http2';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { connect as connectTls } from 'node:tls';
import type { TLSSocket } from 'node:tls';
import { status } from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildConfig } from '../src/config/node-config.js';
import { MAX_CONCURRENT_STREAMS } from '../src/grpc/grpc-gateway.js';
import { encodeHeaderBlock } from '../src/grpc/hpack.js';
import { CONNECTION_REQUEST_MESSAGES } from '../src/grpc/same-port.js';
import { silentLogger } from '../src/logging/logger.js';
import type { RunningNode } from '../src/node/run-node.js';
import { startNode } from '../src/node/run-node.js';
import { freePort } from './support/process-cluster.js';
import { singleReplicaStarter } from './support/single-replica.js';
import { opensslPresent, selfSignedCertificate } from './support/test-certificate.js';
import { grpcMessage, http2Frame, kvRequestBytes } from './support/grpc-wire.js';

const MAX_REQUEST_BYTES = 65_536;
const b64 = (text: string): string => Buffer.from(text).toString('base64');

let root: string;
let node: RunningNode | undefined;
let port: number;
let certificate: Buffer;
const sessions: ClientHttp2Session[] = [];
const sockets: TLSSocket[] = [];

/** An HTTP/2 session over TLS; Node's client offers ALPN `h2` alone, as gRPC clients do. */
function openSession(): ClientHttp2Session {
  const session = connectHttp2(`https://127.0.0.1:${port}`, { ca: certificate });
  session.on('error', () => undefined);
  sessions.push(session);
  return session;
}

/** Opens a gRPC call, writes `body`, and resolves with the call's gRPC status (-1: a reset). */
function call(
  session: ClientHttp2Session,
  path: string,
  body: Buffer,
  end = true,
): { stream: ClientHttp2Stream; status: Promise<{ code: number; message: string }> } {
  const stream = session.request({
    ':method': 'POST',
    ':path': path,
    'content-type': 'application/grpc',
    te: 'trailers',
  });
  stream.on('error', () => undefined);
  // The status comes in the trailers (or a trailers-only answer), perhaps while the client's
  // side of the stream is still open.
  const statusOf = new Promise<{ code: number; message: string }>((resolve) => {
    const keep = (received: IncomingHttpHeaders): void => {
      if (received['grpc-status'] === undefined) return;
      resolve({
        code: Number(received['grpc-status']),
        message: decodeURIComponent(String(received['grpc-message'] ?? '')),
      });
    };
    stream.on('response', keep);
    stream.on('trailers', keep);
    stream.on('close', () => resolve({ code: -1, message: `reset ${stream.rstCode}` }));
  });
  stream.resume();
  if (end) stream.end(body);
  else stream.write(body);
  return { stream, status: statusOf };
}

/** A normal Put over gRPC on a new TLS connection, and the value read back over HTTPS. */
async function expectServing(key: string): Promise<void> {
  const put = call(
    openSession(),
    '/etcdserverpb.KV/Put',
    grpcMessage(kvRequestBytes('Put', { key: b64(key), value: b64('still-here') })),
  );
  expect((await put.status).code).toBe(status.OK);
  const body = await new Promise<string>((resolve, reject) => {
    const outgoing = request(
      { host: '127.0.0.1', port, path: '/v3/kv/range', ca: certificate, method: 'POST' },
      (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.on('end', () => resolve(text));
      },
    );
    outgoing.on('error', reject);
    outgoing.end(JSON.stringify({ key: b64(key) }));
  });
  const range = JSON.parse(body) as { kvs: { value: string }[] };
  expect(Buffer.from(range.kvs[0]?.value ?? '', 'base64').toString()).toBe('still-here');
}

describe.skipIf(!opensslPresent)('bad input on a TLS gRPC connection', { timeout: 120_000 }, () => {
  beforeAll(async () => {
    root = await mkdtemp(`${tmpdir()}/kv-tls-bad-`);
    ({ certificate } = await selfSignedCertificate(root));
    port = await freePort();
    const config = buildConfig(
      new Map([
        ['data-dir', `${root}/data`],
        ['listen-client-urls', `https://127.0.0.1:${port}`],
        ['listen-peer-urls', `http://127.0.0.1:${await freePort()}`],
        ['cert-file', `${root}/cert.pem`],
        ['key-file', `${root}/key.pem`],
        ['max-request-bytes', String(MAX_REQUEST_BYTES)],
      ]),
    );
    node = await startNode(config, silentLogger, singleReplicaStarter([]));
  }, 60_000);

  afterEach(() => {
    for (const session of sessions.splice(0)) session.destroy();
    for (const socket of sockets.splice(0)) socket.destroy();
  });

  afterAll(async () => {
    await node?.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('refuses a length prefix claiming 2 GiB with RESOURCE_EXHAUSTED, before reading it', async () => {
    const result = call(
      openSession(),
      '/etcdserverpb.KV/Put',
      grpcMessage(Buffer.alloc(16), { claimed: 2 ** 31 }),
    );
    expect(await result.status).toEqual({
      code: status.RESOURCE_EXHAUSTED,
      message: `Received message larger than max (${2 ** 31} vs ${MAX_REQUEST_BYTES})`,
    });
    await expectServing('tls-after-2gib');
  });

  it(`refuses messages past ${CONNECTION_REQUEST_MESSAGES} times the limit with RESOURCE_EXHAUSTED, that stream alone`, async () => {
    const session = openSession();
    const claimed = MAX_REQUEST_BYTES - 100;
    /** A call that sends the start of a message announcing `claimed` bytes and stays open. */
    const held = () =>
      call(session, '/etcdserverpb.KV/Put', grpcMessage(Buffer.alloc(1000), { claimed }), false);
    // As many messages of nearly the limit as the bound holds fit; the next ones are refused.
    const fitting = Math.floor((CONNECTION_REQUEST_MESSAGES * MAX_REQUEST_BYTES) / claimed);
    const holding = Array.from({ length: fitting }, held);
    const refused = Array.from({ length: 3 }, held);
    for (const refusal of refused) {
      expect((await refusal.status).code).toBe(status.RESOURCE_EXHAUSTED);
    }
    // A small whole request on the same connection still fits beside the held ones.
    const put = call(
      session,
      '/etcdserverpb.KV/Put',
      grpcMessage(kvRequestBytes('Put', { key: b64('beside'), value: b64('v') })),
    );
    expect((await put.status).code).toBe(status.OK);
    // The held calls are still open, and going away frees their share.
    for (const holder of holding) expect(holder.stream.closed).toBe(false);
    for (const holder of holding.slice(0, 2)) holder.stream.close(constants.NGHTTP2_CANCEL);
    await Promise.all(holding.slice(0, 2).map((holder) => holder.status));
    const bigPut = kvRequestBytes('Put', {
      key: b64('big'),
      value: Buffer.alloc(60_000, 'v').toString('base64'),
    });
    const again = call(session, '/etcdserverpb.KV/Put', grpcMessage(bigPut));
    expect((await again.status).code).toBe(status.OK);
    await expectServing('tls-after-held-messages');
  });

  it('ends a TLS connection that opens 10,000 streams at once, and keeps serving', async () => {
    const socket = connectTls({ host: '127.0.0.1', port, ca: certificate, ALPNProtocols: ['h2'] });
    sockets.push(socket);
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('secureConnect', () => resolve()));
    expect(socket.alpnProtocol).toBe('h2');
    const refused: number[] = [];
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 9 && pending.length >= 9 + pending.readUIntBE(0, 3)) {
        const length = pending.readUIntBE(0, 3);
        const isRefusal =
          pending[3] === 0x3 && pending.readUInt32BE(9) === constants.NGHTTP2_REFUSED_STREAM;
        if (isRefusal) refused.push(pending.readUInt32BE(5) & 0x7fffffff);
        pending = pending.subarray(9 + length);
      }
    });
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    const block = encodeHeaderBlock([
      [':method', 'POST'],
      [':scheme', 'https'],
      [':path', '/etcdserverpb.KV/Range'],
      [':authority', `127.0.0.1:${port}`],
      ['content-type', 'application/grpc'],
      ['te', 'trailers'],
    ]);
    const STREAMS = 10_000;
    socket.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
    socket.write(http2Frame(0x4, 0, 0, Buffer.alloc(0)));
    // HEADERS (END_HEADERS) opening calls on streams 1, 3, 5, ... with no message.
    socket.write(
      Buffer.concat(
        Array.from({ length: STREAMS }, (_, index) => http2Frame(0x1, 0x4, 2 * index + 1, block)),
      ),
    );
    // nghttp2 refuses each stream past the limit, then ends the connection after a burst of
    // resets; refusals still unread when it does may be lost with the connection.
    await closed;
    expect(refused).toEqual(
      Array.from(
        { length: refused.length },
        (_, index) => 2 * (MAX_CONCURRENT_STREAMS + index) + 1,
      ),
    );
    await expectServing('tls-after-10000-streams');
  });
});
