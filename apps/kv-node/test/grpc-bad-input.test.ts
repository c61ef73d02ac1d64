/**
 * Bad input on the gRPC port of a real member process, sent as raw HTTP/2 (node:http2, or frames
 * written by hand where a well-behaved client would refuse to send them): each gets a clear gRPC
 * status or HTTP/2 refusal, what the member holds for it is bounded by its limits, and the member
 * answers a normal request afterwards, over gRPC and over HTTP.
 */

import { connect as connectHttp2, constants } from 'node:http2';
import type { ClientHttp2Session, ClientHttp2Stream, IncomingHttpHeaders } from 'node:http2';
import { connect as connectTcp } from 'node:net';
import type { Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import { status } from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MAX_CONCURRENT_STREAMS } from '../src/grpc/grpc-gateway.js';
import { etcdServices } from '../src/grpc/etcd-proto.js';
import { CONNECTION_REQUEST_MESSAGES } from '../src/grpc/same-port.js';
import { encodeHeaderBlock } from '../src/grpc/hpack.js';
import type { ProcessMember } from './support/process-cluster.js';
import type { StartedCluster } from './support/started-cluster.js';
import { startedCluster } from './support/started-cluster.js';
import { grpcMessage, http2Frame, kvRequestBytes } from './support/grpc-wire.js';

const MAX_REQUEST_BYTES = 65_536;
const b64 = (text: string): string => Buffer.from(text).toString('base64');

let started: StartedCluster | undefined;
let member: ProcessMember;
const sessions: ClientHttp2Session[] = [];
const sockets: Socket[] = [];

beforeAll(async () => {
  started = await startedCluster(1, {
    extraArgs: ['--max-request-bytes', String(MAX_REQUEST_BYTES)],
  });
  member = started.first;
}, 120_000);

afterEach(() => {
  for (const session of sessions.splice(0)) session.destroy();
  for (const socket of sockets.splice(0)) socket.destroy();
});

afterAll(async () => {
  await started?.stop();
});

function openSession(): ClientHttp2Session {
  const session = connectHttp2(member.clientUrl);
  session.on('error', () => undefined);
  sessions.push(session);
  return session;
}

interface CallResult {
  grpcStatus: number;
  grpcMessage: string;
  messages: Buffer;
}

/** Opens a gRPC call on `session`, sends `body` and ends; resolves with the status. */
function rawCall(
  session: ClientHttp2Session,
  path: string,
  body: Buffer,
  headers: Record<string, string> = {},
): Promise<CallResult> {
  return new Promise((resolve, reject) => {
    const stream = session.request({
      ':method': 'POST',
      ':path': path,
      'content-type': 'application/grpc',
      te: 'trailers',
      ...headers,
    });
    const chunks: Buffer[] = [];
    // A trailers-only answer carries the status in the headers; otherwise the trailers do.
    let fields: IncomingHttpHeaders = {};
    const keep = (received: IncomingHttpHeaders): void => {
      fields = { ...fields, ...received };
    };
    stream.on('response', keep);
    stream.on('trailers', keep);
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('error', reject);
    stream.on('close', () => {
      if (fields['grpc-status'] === undefined) {
        reject(new Error(`no grpc-status (RST_STREAM ${stream.rstCode})`));
        return;
      }
      resolve({
        grpcStatus: Number(fields['grpc-status']),
        grpcMessage: decodeURIComponent(String(fields['grpc-message'] ?? '')),
        messages: Buffer.concat(chunks),
      });
    });
    stream.end(body);
  });
}

/** A normal Put then Range over gRPC on a new connection, and a range over HTTP. */
async function expectServing(key: string): Promise<void> {
  const session = openSession();
  const put = await rawCall(
    session,
    '/etcdserverpb.KV/Put',
    grpcMessage(kvRequestBytes('Put', { key: b64(key), value: b64('still-here') })),
  );
  expect(put.grpcStatus).toBe(status.OK);
  const range = await rawCall(
    session,
    '/etcdserverpb.KV/Range',
    grpcMessage(kvRequestBytes('Range', { key: b64(key) })),
  );
  expect(range.grpcStatus).toBe(status.OK);
  expect(range.messages.includes(Buffer.from('still-here'))).toBe(true);
  const http = (await (
    await fetch(`${member.clientUrl}/v3/kv/range`, {
      method: 'POST',
      body: JSON.stringify({ key: b64(key) }),
    })
  ).json()) as { kvs: { value: string }[] };
  expect(Buffer.from(http.kvs[0]?.value ?? '', 'base64').toString()).toBe('still-here');
}

describe('bad messages on the gRPC port', { timeout: 60_000 }, () => {
  it('refuses a length prefix claiming 2 GiB with RESOURCE_EXHAUSTED, before reading it', async () => {
    const session = openSession();
    const result = await rawCall(
      session,
      '/etcdserverpb.KV/Put',
      grpcMessage(Buffer.alloc(16), { claimed: 2 ** 31 }),
    );
    expect(result.grpcStatus).toBe(status.RESOURCE_EXHAUSTED);
    expect(result.grpcMessage).toBe(
      `Received message larger than max (${2 ** 31} vs ${MAX_REQUEST_BYTES})`,
    );
    await expectServing('after-2gib');
  });

  it('refuses a compressed message that inflates past the limit with RESOURCE_EXHAUSTED', async () => {
    const session = openSession();
    const bomb = gzipSync(Buffer.alloc(64 * MAX_REQUEST_BYTES));
    expect(bomb.length).toBeLessThan(MAX_REQUEST_BYTES);
    const result = await rawCall(
      session,
      '/etcdserverpb.KV/Put',
      grpcMessage(bomb, { compressed: true }),
      { 'grpc-encoding': 'gzip' },
    );
    expect(result.grpcStatus).toBe(status.RESOURCE_EXHAUSTED);
    expect(result.grpcMessage).toBe(
      `Received message that decompresses to a size larger than ${MAX_REQUEST_BYTES}`,
    );
    await expectServing('after-bomb');
  });

  it('answers malformed protobuf with INTERNAL, as etcd does', async () => {
    const session = openSession();
    // Field 1 (key), length-delimited, with a length far past the message's end.
    const malformed = Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x61]);
    const result = await rawCall(session, '/etcdserverpb.KV/Put', grpcMessage(malformed));
    expect(result.grpcStatus).toBe(status.INTERNAL);
    expect(result.grpcMessage).toBe('Error deserializing request');
    await expectServing('after-malformed');
  });

  it('answers an unknown method or service with UNIMPLEMENTED', async () => {
    const session = openSession();
    const empty = grpcMessage(Buffer.alloc(0));
    const method = await rawCall(session, '/etcdserverpb.KV/Nope', empty);
    expect(method.grpcStatus).toBe(status.UNIMPLEMENTED);
    expect(method.grpcMessage).toBe(
      'The server does not implement the method /etcdserverpb.KV/Nope',
    );
    const service = await rawCall(session, '/nope.Nope/Range', empty);
    expect(service.grpcStatus).toBe(status.UNIMPLEMENTED);
    await expectServing('after-unknown');
  });
});

/** HTTP/2 frame types and flags used by the hand-written client below. */
const FRAME = { headers: 0x1, rstStream: 0x3, settings: 0x4, ping: 0x6, goaway: 0x7 } as const;
const END_HEADERS = 0x4;
const ACK = 0x1;

interface ServerFrame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

/** A raw TCP connection speaking HTTP/2 frames, recording every frame the server sends. */
function rawHttp2(): { socket: Socket; frames: ServerFrame[]; closed: Promise<void> } {
  const url = new URL(member.clientUrl);
  const socket = connectTcp(Number(url.port), url.hostname);
  sockets.push(socket);
  const frames: ServerFrame[] = [];
  let pending = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 9 && pending.length >= 9 + pending.readUIntBE(0, 3)) {
      const length = pending.readUIntBE(0, 3);
      frames.push({
        type: pending[3] as number,
        flags: pending[4] as number,
        streamId: pending.readUInt32BE(5) & 0x7fffffff,
        payload: pending.subarray(9, 9 + length),
      });
      pending = pending.subarray(9 + length);
    }
  });
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  socket.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
  socket.write(http2Frame(FRAME.settings, 0, 0, Buffer.alloc(0)));
  return { socket, frames, closed };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let turn = 0; turn < 600 && !condition(); turn++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  if (!condition()) throw new Error(`timed out waiting for ${what}`);
}

describe('many streams on one connection', { timeout: 120_000 }, () => {
  const STREAMS = 10_000;
  const callHeaders = (): Buffer =>
    encodeHeaderBlock([
      [':method', 'POST'],
      [':scheme', 'http'],
      [':path', '/etcdserverpb.KV/Range'],
      [':authority', new URL(member.clientUrl).host],
      ['content-type', 'application/grpc'],
      ['te', 'trailers'],
    ]);

  /** HEADERS frames opening calls on streams 1, 3, 5, ... (no message, no END_STREAM). */
  const openCalls = (count: number): Buffer => {
    const block = callHeaders();
    return Buffer.concat(
      Array.from({ length: count }, (_, index) =>
        http2Frame(FRAME.headers, END_HEADERS, 2 * index + 1, block),
      ),
    );
  };
  const refusedIds = (frames: ServerFrame[]): number[] =>
    frames
      .filter(
        (received) =>
          received.type === FRAME.rstStream &&
          received.payload.readUInt32BE(0) === constants.NGHTTP2_REFUSED_STREAM,
      )
      .map((received) => received.streamId);
  /** The ids of the streams past the limit, in order. */
  const pastTheLimit = (count: number): number[] =>
    Array.from({ length: count }, (_, index) => 2 * (MAX_CONCURRENT_STREAMS + index) + 1);

  it(`refuses exactly the streams past ${MAX_CONCURRENT_STREAMS} (REFUSED_STREAM); those within wait`, async () => {
    const { socket, frames } = rawHttp2();
    const extra = 100;
    socket.write(openCalls(MAX_CONCURRENT_STREAMS + extra));
    await until(() => refusedIds(frames).length >= extra, 'the refusals');
    // A PING is answered once every frame before it was handled: no other stream was refused.
    socket.write(http2Frame(FRAME.ping, 0, 0, Buffer.from('bad-in!!')));
    await until(
      () => frames.some((received) => received.type === FRAME.ping && received.flags === ACK),
      'the PING answer',
    );
    expect(refusedIds(frames)).toEqual(pastTheLimit(extra));
    expect(socket.destroyed).toBe(false);
    await expectServing('after-refused-streams');
  });

  it(`ends a connection that opens ${STREAMS} streams at once`, async () => {
    const { socket, frames, closed } = rawHttp2();
    socket.write(openCalls(STREAMS));
    // nghttp2 refuses each stream past the limit; after a burst of resets (its guard against
    // reset floods, Node's `streamResetBurst`: about 1000) it ends the connection. Refusals
    // still unread when it does may be lost with the connection's reset.
    await closed;
    const refused = refusedIds(frames);
    expect(refused).toEqual(pastTheLimit(refused.length));
    await expectServing('after-10000-streams');
  });

  it('ends a connection that opens a stream past the acknowledged limit (GOAWAY)', async () => {
    const { socket, frames, closed } = rawHttp2();
    await until(
      () => frames.some((received) => received.type === FRAME.settings && received.flags === 0),
      "the server's SETTINGS",
    );
    socket.write(http2Frame(FRAME.settings, ACK, 0, Buffer.alloc(0)));
    // One past the limit, last: the server has read everything when it ends the connection.
    socket.write(openCalls(MAX_CONCURRENT_STREAMS + 1));
    await closed;
    const goaway = frames.find((received) => received.type === FRAME.goaway);
    expect(goaway?.payload.readUInt32BE(4)).toBe(constants.NGHTTP2_PROTOCOL_ERROR);
    // The last stream the server took is within the limit.
    expect(goaway?.payload.readUInt32BE(0)).toBe(2 * MAX_CONCURRENT_STREAMS - 1);
    await expectServing('after-goaway');
  });
});

describe('a watch stream whose client never reads', { timeout: 120_000 }, () => {
  it('holds events back instead of buffering them, and delivers every one once read', async () => {
    const session = openSession();
    const watch: ClientHttp2Stream = session.request({
      ':method': 'POST',
      ':path': '/etcdserverpb.Watch/Watch',
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    watch.on('error', () => undefined);
    const watchRequest = etcdServices().watch.Watch as unknown as {
      requestSerialize: (value: unknown) => Buffer;
      responseDeserialize: (bytes: Buffer) => {
        created?: boolean;
        events?: { kv: { key: string; value: string; mod_revision: string } }[];
      };
    };
    watch.write(
      grpcMessage(watchRequest.requestSerialize({ create_request: { key: b64('stalled') } })),
    );
    const received: Buffer[] = [];
    watch.once('data', (chunk: Buffer) => received.push(chunk));
    await until(() => received.length > 0, 'the created response');
    // From here the client reads nothing: HTTP/2 flow control fills, then the server's
    // watcher queue, then the watcher falls behind (to catch up from history).
    watch.pause();
    const VALUE = 'v'.repeat(8_000);
    const PUTS = 400; // 3.2 MB of events: far past the stream's flow-control window.
    const writer = openSession();
    for (let index = 0; index < PUTS; index++) {
      const put = await rawCall(
        writer,
        '/etcdserverpb.KV/Put',
        grpcMessage(kvRequestBytes('Put', { key: b64('stalled'), value: b64(VALUE) })),
      );
      expect(put.grpcStatus).toBe(status.OK);
    }
    await expectServing('after-stalled-watch');
    // Now read: every event arrives, in revision order, none lost.
    let pending = Buffer.concat(received);
    const revisions: number[] = [];
    let created = false;
    watch.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 5 && pending.length >= 5 + pending.readUInt32BE(1)) {
        const length = pending.readUInt32BE(1);
        const response = watchRequest.responseDeserialize(pending.subarray(5, 5 + length));
        pending = pending.subarray(5 + length);
        if (response.created === true) created = true;
        for (const event of response.events ?? []) {
          expect(Buffer.from(event.kv.value, 'base64').toString()).toBe(VALUE);
          revisions.push(Number(event.kv.mod_revision));
        }
      }
    });
    watch.resume();
    await until(() => revisions.length >= PUTS, 'every event');
    expect(created).toBe(true);
    expect(revisions).toHaveLength(PUTS);
    const first = revisions[0] as number;
    expect(revisions).toEqual(Array.from({ length: PUTS }, (_, index) => first + index));
    watch.close();
  });
});

describe('request messages held for one connection', { timeout: 60_000 }, () => {
  /** A call that sends the start of a message announcing `claimed` bytes and stays open. */
  function heldCall(
    session: ClientHttp2Session,
    claimed: number,
    start = Buffer.alloc(1000),
  ): { stream: ClientHttp2Stream; status: Promise<number> } {
    const stream = session.request({
      ':method': 'POST',
      ':path': '/etcdserverpb.KV/Put',
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    stream.on('error', () => undefined);
    // The status comes in the trailers (or a trailers-only answer) while the client's side of
    // the stream may still be open; a reset without one is -1.
    const statusOf = new Promise<number>((resolve) => {
      const keep = (received: IncomingHttpHeaders): void => {
        if (received['grpc-status'] !== undefined) resolve(Number(received['grpc-status']));
      };
      stream.on('response', keep);
      stream.on('trailers', keep);
      stream.on('close', () => resolve(-1));
    });
    stream.write(grpcMessage(start, { claimed }));
    return { stream, status: statusOf };
  }

  it(`refuses messages past ${CONNECTION_REQUEST_MESSAGES} times the limit with RESOURCE_EXHAUSTED, that stream alone`, async () => {
    const session = openSession();
    const claimed = MAX_REQUEST_BYTES - 100;
    // As many messages of nearly the limit as the bound holds fit; the next ones are refused.
    const fitting = Math.floor((CONNECTION_REQUEST_MESSAGES * MAX_REQUEST_BYTES) / claimed);
    const held = Array.from({ length: fitting }, () => heldCall(session, claimed));
    const refused = Array.from({ length: 3 }, () => heldCall(session, claimed));
    for (const call of refused) expect(await call.status).toBe(status.RESOURCE_EXHAUSTED);
    // A small whole request on the same connection still fits beside the held ones.
    const put = await rawCall(
      session,
      '/etcdserverpb.KV/Put',
      grpcMessage(kvRequestBytes('Put', { key: b64('beside'), value: b64('v') })),
    );
    expect(put.grpcStatus).toBe(status.OK);
    // The held calls are still open (none was refused), and going away frees their share.
    for (const call of held) expect(call.stream.closed).toBe(false);
    for (const call of held.slice(0, 2)) call.stream.close(constants.NGHTTP2_CANCEL);
    expect(await Promise.all(held.slice(0, 2).map((call) => call.status))).toEqual([-1, -1]);
    const bigPut = kvRequestBytes('Put', {
      key: b64('big'),
      value: Buffer.alloc(60_000, 'v').toString('base64'),
    });
    const again = heldCall(session, bigPut.length, Buffer.from(bigPut.subarray(0, 1000)));
    again.stream.end(bigPut.subarray(1000));
    expect(await again.status).toBe(status.OK);
    await expectServing('after-held-messages');
  });
});
