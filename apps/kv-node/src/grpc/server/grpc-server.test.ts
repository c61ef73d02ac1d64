import { connect } from 'node:http2';
import type { ClientHttp2Session, IncomingHttpHeaders } from 'node:http2';
import { createServer } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import { gzipSync } from 'node:zlib';
import { status } from '@grpc/grpc-js';
import type { ServerDuplexStream, ServerUnaryCall, sendUnaryData } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import type { CallRecorder } from '../../metrics/grpc-server-metrics.js';
import { etcdServices } from '../etcd-proto.js';
import { framedMessage } from './message-reader.js';
import { GrpcServer } from './grpc-server.js';

const kv = etcdServices().kv;
const watch = etcdServices().watch;
const serialize = (path: string, value: unknown): Buffer =>
  (
    Object.values({ ...kv, ...watch }).find((method) => method.path === path) as {
      requestSerialize(value: unknown): Buffer;
    }
  ).requestSerialize(value);
const b64 = (text: string): string => Buffer.from(text).toString('base64');

let listener: Server | undefined;
let server: GrpcServer | undefined;
let session: ClientHttp2Session | undefined;

afterEach(async () => {
  session?.destroy();
  server?.destroy();
  const closing = listener;
  if (closing !== undefined) await new Promise((resolve) => closing.close(resolve));
  session = undefined;
  server = undefined;
  listener = undefined;
});

/** What the server told the metrics, per call, in order. */
type Recorded = string[][];

async function start(
  implementation: Record<string, unknown>,
  service = kv,
): Promise<{ recorded: Recorded }> {
  const recorded: Recorded = [];
  server = new GrpcServer({
    maxReceiveMessageBytes: 1024,
    maxConcurrentStreams: 16,
    recorder: (method) => () => {
      const events = [`started ${method.path}`];
      recorded.push(events);
      const recorder: CallRecorder = {
        received: () => events.push('received'),
        sent: () => events.push('sent'),
        finished: (code) => events.push(`finished ${code}`),
      };
      return recorder;
    },
  });
  server.addService(service, implementation as never);
  const grpc = server;
  listener = createServer((socket) => grpc.injectConnection(socket));
  await new Promise<void>((resolve) => listener?.listen(0, '127.0.0.1', resolve));
  session = connect(`http://127.0.0.1:${(listener.address() as AddressInfo).port}`);
  session.on('error', () => undefined);
  return { recorded };
}

interface Answer {
  grpcStatus: number;
  grpcMessage: string;
  body: Buffer;
}

function call(
  path: string,
  body: Buffer,
  headers: Record<string, string> = {},
): { answer: Promise<Answer>; cancel: () => void } {
  const stream = (session as ClientHttp2Session).request({
    ':method': 'POST',
    ':path': path,
    'content-type': 'application/grpc',
    te: 'trailers',
    ...headers,
  });
  let fields: IncomingHttpHeaders = {};
  const chunks: Buffer[] = [];
  const answer = new Promise<Answer>((resolve, reject) => {
    // A trailers-only answer carries the status in the headers; otherwise the trailers do.
    const keep = (received: IncomingHttpHeaders): void => {
      fields = { ...fields, ...received };
    };
    stream.on('response', keep);
    stream.on('trailers', keep);
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('error', reject);
    stream.on('close', () =>
      fields['grpc-status'] === undefined
        ? reject(new Error(`no status (RST_STREAM ${stream.rstCode})`))
        : resolve({
            grpcStatus: Number(fields['grpc-status']),
            grpcMessage: decodeURIComponent(String(fields['grpc-message'] ?? '')),
            body: Buffer.concat(chunks),
          }),
    );
  });
  stream.end(body);
  return { answer, cancel: () => stream.close() };
}

const putRequest = framedMessage(serialize('/etcdserverpb.KV/Put', { key: b64('k') }));

describe('GrpcServer', () => {
  it('answers a unary call and records it: started, received, sent, finished OK', async () => {
    const { recorded } = await start({
      Put: (request: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) =>
        callback(null, { header: { revision: String(request.getPath().length) } }),
    });
    const answer = await call('/etcdserverpb.KV/Put', putRequest).answer;
    expect(answer.grpcStatus).toBe(status.OK);
    expect(answer.body.readUInt32BE(1)).toBe(answer.body.length - 5);
    expect(recorded).toEqual([
      ['started /etcdserverpb.KV/Put', 'received', 'sent', `finished ${status.OK}`],
    ]);
  });

  it("ends a call that failed with the error's code and details, trailers-only", async () => {
    const { recorded } = await start({
      Put: (_request: unknown, callback: sendUnaryData<unknown>) =>
        callback({
          code: status.NOT_FOUND,
          details: 'etcdserver: 100% gone',
          name: '',
          message: '',
        }),
    });
    const answer = await call('/etcdserverpb.KV/Put', putRequest).answer;
    expect(answer).toEqual({
      grpcStatus: status.NOT_FOUND,
      grpcMessage: 'etcdserver: 100% gone',
      body: Buffer.alloc(0),
    });
    expect(recorded[0]?.at(-1)).toBe(`finished ${status.NOT_FOUND}`);
  });

  it('ends a call whose handler throws with UNKNOWN, and keeps serving', async () => {
    let calls = 0;
    await start({
      Put: (_request: unknown, callback: sendUnaryData<unknown>) => {
        calls += 1;
        if (calls === 1) throw new Error('a bug');
        callback(null, {});
      },
    });
    const thrown = await call('/etcdserverpb.KV/Put', putRequest).answer;
    expect(thrown.grpcStatus).toBe(status.UNKNOWN);
    expect(thrown.grpcMessage).toBe('Unknown error');
    expect((await call('/etcdserverpb.KV/Put', putRequest).answer).grpcStatus).toBe(status.OK);
  });

  it('ends a call past its grpc-timeout with DEADLINE_EXCEEDED and tells the handler', async () => {
    let cancelled!: () => void;
    const handlerSawCancel = new Promise<void>((resolve) => (cancelled = resolve));
    await start({
      Put: (request: ServerUnaryCall<unknown, unknown>) => request.on('cancelled', cancelled),
    });
    const answer = await call('/etcdserverpb.KV/Put', putRequest, { 'grpc-timeout': '20m' }).answer;
    expect(answer.grpcStatus).toBe(status.DEADLINE_EXCEEDED);
    expect(answer.grpcMessage).toBe('Deadline exceeded');
    await handlerSawCancel;
  });

  it('records a call the client reset as CANCELLED and tells the handler', async () => {
    let cancelled!: () => void;
    const handlerSawCancel = new Promise<void>((resolve) => (cancelled = resolve));
    let started!: () => void;
    const handlerStarted = new Promise<void>((resolve) => (started = resolve));
    const { recorded } = await start({
      Put: (request: ServerUnaryCall<unknown, unknown>) => {
        request.on('cancelled', cancelled);
        started();
      },
    });
    const pending = call('/etcdserverpb.KV/Put', putRequest);
    pending.answer.catch(() => undefined);
    await handlerStarted;
    pending.cancel();
    await handlerSawCancel;
    expect(recorded[0]?.at(-1)).toBe(`finished ${status.CANCELLED}`);
  });

  it('reads gzip requests, and refuses an encoding it does not know', async () => {
    let key = '';
    await start({
      Put: (
        request: ServerUnaryCall<{ key: string }, unknown>,
        callback: sendUnaryData<unknown>,
      ) => {
        key = request.request.key;
        callback(null, {});
      },
    });
    const message = serialize('/etcdserverpb.KV/Put', { key: b64('zipped') });
    const compressed = framedMessage(gzipSync(message));
    compressed[0] = 1;
    const gzip = await call('/etcdserverpb.KV/Put', compressed, { 'grpc-encoding': 'gzip' }).answer;
    expect(gzip.grpcStatus).toBe(status.OK);
    expect(Buffer.from(key, 'base64').toString()).toBe('zipped');
    const unknown = await call('/etcdserverpb.KV/Put', compressed, { 'grpc-encoding': 'zstd' })
      .answer;
    expect(unknown.grpcStatus).toBe(status.UNIMPLEMENTED);
    expect(unknown.grpcMessage).toBe(
      'Received message compressed with unsupported encoding "zstd"',
    );
  });

  it('runs a bidirectional stream: every request in order, then the status once it ends', async () => {
    const { recorded } = await start(
      {
        Watch: (stream: ServerDuplexStream<{ create_request?: unknown }, unknown>) => {
          let count = 0;
          stream.on('data', () => {
            count += 1;
            stream.write({ watch_id: String(count) });
          });
          stream.on('end', () => stream.end());
        },
      },
      watch,
    );
    const requests = Buffer.concat(
      [1, 2, 3].map(() =>
        framedMessage(serialize('/etcdserverpb.Watch/Watch', { progress_request: {} })),
      ),
    );
    const answer = await call('/etcdserverpb.Watch/Watch', requests).answer;
    expect(answer.grpcStatus).toBe(status.OK);
    expect(answer.body.length).toBeGreaterThan(0);
    // Messages are counted as they go; a request and the answer to the one before may cross.
    const [events = []] = recorded;
    expect(events[0]).toBe('started /etcdserverpb.Watch/Watch');
    expect(events.filter((event) => event === 'received')).toHaveLength(3);
    expect(events.filter((event) => event === 'sent')).toHaveLength(3);
    expect(events.at(-1)).toBe(`finished ${status.OK}`);
  });
});
