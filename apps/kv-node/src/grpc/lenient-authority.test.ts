import { connect, constants, createServer } from 'node:http2';
import type { ClientHttp2Session, Http2Server, IncomingHttpHeaders } from 'node:http2';
import { createServer as createTcpServer } from 'node:net';
import type { AddressInfo, Server as TcpServer, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  acceptEtcdAuthority,
  acceptedAuthority,
  isAcceptedAuthority,
} from './lenient-authority.js';

let tcpServer: TcpServer | undefined;
let http2Server: Http2Server | undefined;
const sockets: Socket[] = [];
const sessions: ClientHttp2Session[] = [];

afterEach(async () => {
  for (const session of sessions.splice(0)) session.destroy();
  for (const socket of sockets.splice(0)) socket.destroy();
  const closing = tcpServer;
  tcpServer = undefined;
  if (closing !== undefined) await new Promise((resolve) => closing.close(resolve));
  http2Server?.close();
  http2Server = undefined;
});

/**
 * A Node HTTP/2 server (nghttp2, as under grpc-js) on a plain TCP port, with or without the
 * filter between; it answers each request with the headers it received, as JSON.
 */
async function start(filtered: boolean): Promise<number> {
  http2Server = createServer();
  http2Server.on('stream', (stream, headers) => {
    let body = '';
    stream.on('data', (chunk: Buffer) => (body += chunk.toString()));
    stream.on('end', () => {
      stream.respond({ ':status': 200 });
      stream.end(JSON.stringify({ headers, body }));
    });
  });
  const server = http2Server;
  tcpServer = createTcpServer((socket) => {
    sockets.push(socket);
    server.emit('connection', filtered ? acceptEtcdAuthority(socket) : socket);
  });
  await new Promise<void>((resolve) => tcpServer?.listen(0, '127.0.0.1', resolve));
  return (tcpServer.address() as AddressInfo).port;
}

interface Answer {
  headers: IncomingHttpHeaders;
  body: string;
}

/** Sends one POST on `session`; resolves with what the server saw, or the reset code. */
function request(
  session: ClientHttp2Session,
  headers: Record<string, string>,
  body: string,
): Promise<Answer | { rstCode: number }> {
  return new Promise((resolve, reject) => {
    const stream = session.request({
      ':method': 'POST',
      ':path': '/etcdserverpb.KV/Range',
      ...headers,
    });
    let text = '';
    stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
    stream.on('error', () => undefined);
    stream.on('close', () => {
      if (stream.rstCode !== constants.NGHTTP2_NO_ERROR) resolve({ rstCode: stream.rstCode });
      else if (text === '') reject(new Error('no answer'));
      else resolve(JSON.parse(text) as Answer);
    });
    stream.end(body);
  });
}

function open(port: number): ClientHttp2Session {
  const session = connect(`http://127.0.0.1:${port}`);
  session.on('error', () => undefined);
  sessions.push(session);
  return session;
}

describe('acceptEtcdAuthority', () => {
  it("is needed: Node's HTTP/2 server resets a stream whose :authority is a URL", async () => {
    const port = await start(false);
    const answer = await request(open(port), { ':authority': `http://127.0.0.1:${port}` }, 'x');
    expect(answer).toEqual({ rstCode: constants.NGHTTP2_PROTOCOL_ERROR });
  });

  it('serves every request of a connection whose :authority is a URL, with the host as authority', async () => {
    const port = await start(true);
    const session = open(port);
    const headers = {
      ':authority': `http://127.0.0.1:${port}`,
      'content-type': 'application/grpc',
      'user-agent': 'grpc-go/1.26.0',
      te: 'trailers',
    };
    // Several requests on one connection: the client's encoder refers to its dynamic table
    // from the second on; one carries a header too large for one frame (CONTINUATION).
    const answers = [
      await request(session, headers, 'first'),
      await request(session, { ...headers, 'x-large': 'v'.repeat(20_000) }, 'second'),
      await request(session, { ...headers, 'x-trace': 'abc' }, 'third'),
      await request(session, headers, 'fourth'),
    ] as Answer[];
    expect(answers.map((answer) => answer.body)).toEqual(['first', 'second', 'third', 'fourth']);
    for (const answer of answers) {
      expect(answer.headers[':authority']).toBe(`127.0.0.1:${port}`);
      expect(answer.headers['content-type']).toBe('application/grpc');
      expect(answer.headers['user-agent']).toBe('grpc-go/1.26.0');
      expect(answer.headers[':path']).toBe('/etcdserverpb.KV/Range');
    }
    expect(answers[1]?.headers['x-large']).toBe('v'.repeat(20_000));
    expect(answers[2]?.headers['x-trace']).toBe('abc');
  });

  it('passes a connection with an ordinary :authority through unchanged', async () => {
    const port = await start(true);
    const session = open(port);
    const first = (await request(session, { 'x-n': '1' }, 'a')) as Answer;
    const second = (await request(session, { 'x-n': '2' }, 'b')) as Answer;
    expect(first.headers[':authority']).toBe(`127.0.0.1:${port}`);
    expect([first.body, second.body, second.headers['x-n']]).toEqual(['a', 'b', '2']);
  });
});

describe('acceptedAuthority', () => {
  it('keeps the host and port of a URL, and percent-encodes anything else refused', () => {
    expect(isAcceptedAuthority('127.0.0.1:2379')).toBe(true);
    expect(isAcceptedAuthority('[::1]:2379')).toBe(true);
    expect(isAcceptedAuthority('http://127.0.0.1:2379')).toBe(false);
    expect(acceptedAuthority('http://127.0.0.1:2379')).toBe('127.0.0.1:2379');
    expect(acceptedAuthority('https://[::1]:2379/')).toBe('[::1]:2379');
    expect(acceptedAuthority('unix:///tmp/etcd.sock')).toBe('unix:%2F%2F%2Ftmp%2Fetcd.sock');
    expect(acceptedAuthority('a b')).toBe('a%20b');
  });
});
