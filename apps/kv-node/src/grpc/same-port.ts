/**
 * gRPC and HTTP/1.1 on one client port, as etcd does with cmux: a plain connection that opens
 * with the HTTP/2 preface goes to gRPC, any other to the HTTP server; on a TLS port ALPN decides
 * (`h2` to gRPC). The HTTP server keeps its own handling of every HTTP/1.1 connection (timeouts,
 * host allowlist, limits, auth), untouched. A plain HTTP/2 connection reaches gRPC through
 * `lenient-authority.ts`, so that etcd clients dialling `http://host:port` are served (their
 * `:authority` is the whole URL, which Node's HTTP/2 refuses); on TLS ports they send a plain
 * `host:port`, and the gRPC server reads the client certificate from the TLS socket under the
 * filter. Every HTTP/2 connection, plain or TLS, goes through `request-memory-cap.ts`.
 */

import type { Server as HttpServer } from 'node:http';
import type { Socket } from 'node:net';
import { Server as TlsServer } from 'node:tls';
import type { TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import type { GrpcGateway } from './grpc-gateway.js';
import { acceptEtcdAuthority } from './lenient-authority.js';
import { RequestMemoryCap } from './request-memory-cap.js';

/**
 * What one gRPC connection, plain or TLS, may make the server hold in request messages not yet
 * handed to their calls (`request-memory-cap.ts`), in messages of the largest size: sixteen of
 * them, where the stream limit alone would allow 1,024.
 */
export const CONNECTION_REQUEST_MESSAGES = 16;

/** The first bytes of every HTTP/2 connection (RFC 9113 §3.4). */
const HTTP2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

type ConnectionListener = (socket: Socket) => void;

/**
 * The protocol a TLS client may speak, from the protocols it offers: HTTP/1.1 whenever it offers
 * it (browsers, curl and Node clients keep the HTTP API they use today), `h2` only from clients
 * that speak nothing else (gRPC clients offer `h2` alone). Pass as `ALPNCallback`.
 */
export function chooseAlpnProtocol({ protocols }: { protocols: string[] }): string | undefined {
  if (protocols.includes('http/1.1')) return 'http/1.1';
  return protocols.includes('h2') ? 'h2' : undefined;
}

/**
 * Reads the first bytes of `socket` until they either are the HTTP/2 preface or cannot be, then
 * puts them back and calls `decided`. A client that sends too few bytes to tell within
 * `timeoutMs` is disconnected (the HTTP server's header timeout has not started yet).
 */
function sniffPreface(
  socket: Socket,
  timeoutMs: number,
  decided: (isHttp2: boolean) => void,
): void {
  let received: Buffer = Buffer.alloc(0);
  const timer = setTimeout(() => socket.destroy(), timeoutMs);
  const finish = (): void => {
    clearTimeout(timer);
    socket.off('data', onData);
    socket.off('close', onClose);
    socket.off('error', onError);
  };
  const onClose = (): void => finish();
  // An error (a reset) before the decision closes the socket; there is no one to answer. After
  // it, the HTTP server or the gRPC session handles the socket's errors.
  const onError = (): void => undefined;
  const onData = (chunk: Buffer): void => {
    received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
    const compared = Math.min(received.length, HTTP2_PREFACE.length);
    const matches = received.subarray(0, compared).equals(HTTP2_PREFACE.subarray(0, compared));
    if (matches && compared < HTTP2_PREFACE.length) return;
    finish();
    // Paused first: still flowing, the stream would hand what is put back to the 'data' event of
    // no one. The new owner reads it from the buffer (HTTP/2 on the next tick, HTTP/1.1 once
    // resumed).
    socket.pause();
    socket.unshift(received);
    decided(matches);
  };
  socket.on('data', onData);
  socket.on('close', onClose);
  socket.on('error', onError);
}

/**
 * Makes `server` hand HTTP/2 connections to `grpc` instead of serving them itself (see the file
 * comment). Call before the server accepts connections. A plain connection must send its first
 * bytes within the server's `headersTimeout`, as an HTTP/1.1 client must send its headers.
 *
 * @param maxRequestBytes the gRPC server's limit on one request message (`--max-request-bytes`);
 *   a connection may make it hold {@link CONNECTION_REQUEST_MESSAGES} times that in request
 *   messages, and a message past it is refused with RESOURCE_EXHAUSTED.
 */
export function serveGrpcOnSamePort(
  server: HttpServer,
  grpc: GrpcGateway,
  maxRequestBytes: number,
): void {
  const capped = (connection: Duplex): Duplex =>
    new RequestMemoryCap(
      connection,
      CONNECTION_REQUEST_MESSAGES * maxRequestBytes,
      maxRequestBytes,
    );
  if (server instanceof TlsServer) {
    // An HTTPS server serves HTTP on 'secureConnection'; ALPN has been negotiated by then.
    const serveHttp = server.listeners('secureConnection') as ConnectionListener[];
    server.removeAllListeners('secureConnection');
    server.on('secureConnection', (socket: TLSSocket) => {
      if (socket.alpnProtocol === 'h2') grpc.injectConnection(capped(socket), socket);
      else for (const listener of serveHttp) listener.call(server, socket);
    });
    return;
  }
  const serveHttp = server.listeners('connection') as ConnectionListener[];
  server.removeAllListeners('connection');
  server.on('connection', (socket: Socket) => {
    sniffPreface(socket, server.headersTimeout, (isHttp2) => {
      if (isHttp2) {
        // etcd's clients send `http://host:port` as `:authority`, which Node's HTTP/2 refuses.
        grpc.injectConnection(capped(acceptEtcdAuthority(socket)));
      } else {
        for (const listener of serveHttp) listener.call(server, socket);
        socket.resume();
      }
    });
  });
}
