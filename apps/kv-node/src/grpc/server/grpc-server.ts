/**
 * A lean gRPC server on `node:http2`: the connections handed over from the client port become
 * HTTP/2 sessions of a server with no port of its own, and each stream is a call of a registered
 * method (`call-stream.ts`) run by its grpc-js-shaped handler (`handler-calls.ts`). It keeps
 * what kv-node used of grpc-js's server (statuses, limits, compression of requests, deadlines,
 * metadata, the metrics of every call) and leaves out the rest (interceptor chains, channelz,
 * per-call tracing), whose cost per call was most of the gRPC path's (docs/benchmarks.md).
 */

import { createServer, constants as http2 } from 'node:http2';
import type {
  Http2Server,
  Http2Session,
  IncomingHttpHeaders,
  ServerHttp2Session,
  ServerHttp2Stream,
} from 'node:http2';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { CallRecorder, GrpcMethodShape } from '../../metrics/grpc-server-metrics.js';
import { CallStream } from './call-stream.js';
import type { CallMethod } from './call-stream.js';
import { runBidiStream, runServerStream, runUnary } from './handler-calls.js';
import type { AnyHandler } from './handler-calls.js';

/** How a method's calls are run. */
type MethodKind = 'unary' | 'server-stream' | 'bidi';

interface RegisteredMethod extends CallMethod {
  kind: MethodKind;
  handler: AnyHandler;
  recorder: () => CallRecorder;
}

/** The server's bounds and the metrics it records. */
export interface GrpcServerOptions {
  /** The largest request message (bytes, after decompression). */
  maxReceiveMessageBytes: number;
  /** Most concurrent streams on one connection (HTTP/2's SETTINGS_MAX_CONCURRENT_STREAMS). */
  maxConcurrentStreams: number;
  /** A call's metrics, by method. */
  recorder(method: GrpcMethodShape): () => CallRecorder;
}

/** See the file comment. */
export class GrpcServer {
  readonly #options: GrpcServerOptions;
  readonly #methods = new Map<string, RegisteredMethod>();
  readonly #http2: Http2Server;
  readonly #sessions = new Set<ServerHttp2Session>();
  /**
   * The TLS socket under each TLS session's connection: the client certificate is read from it,
   * as the session's own socket may be a filter over it (`request-memory-cap.ts`).
   */
  readonly #tlsSockets = new WeakMap<Http2Session, TLSSocket>();
  /** The TLS socket of the connection being injected (its session is made synchronously). */
  #injectedTlsSocket: TLSSocket | undefined;

  constructor(options: GrpcServerOptions) {
    this.#options = options;
    this.#http2 = createServer({
      // As grpc-js sets them: header blocks of any size may be sent, and the session memory
      // bound (whose enforcement degrades Node's HTTP/2 badly) is off; the request size limit
      // and the stream limit bound what a connection holds instead.
      maxSendHeaderBlockLength: Number.MAX_SAFE_INTEGER,
      maxSessionMemory: Number.MAX_SAFE_INTEGER,
      settings: { maxConcurrentStreams: options.maxConcurrentStreams },
    });
    this.#http2.on('session', (session: ServerHttp2Session) => {
      this.#sessions.add(session);
      if (this.#injectedTlsSocket !== undefined) {
        this.#tlsSockets.set(session, this.#injectedTlsSocket);
      }
      // A session's errors end it ('close' follows); there is no one else to tell.
      session.on('error', () => undefined);
      session.on('close', () => this.#sessions.delete(session));
    });
    this.#http2.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) =>
      this.#onStream(stream, headers),
    );
  }

  /** Serves the methods of `service` with the handlers of `implementation`. */
  addService(service: ServiceDefinition, implementation: UntypedServiceImplementation): void {
    for (const [name, definition] of Object.entries(service)) {
      const handler = implementation[name] as AnyHandler | undefined;
      if (handler === undefined) continue;
      if (definition.requestStream && !definition.responseStream) {
        throw new Error(`${definition.path}: client-streaming methods are not served`);
      }
      this.#methods.set(definition.path, {
        path: definition.path,
        kind: definition.requestStream
          ? 'bidi'
          : definition.responseStream
            ? 'server-stream'
            : 'unary',
        handler,
        deserialize: (bytes): unknown => definition.requestDeserialize(bytes) as unknown,
        serialize: (value) => definition.responseSerialize(value),
        recorder: this.#options.recorder(definition),
      });
    }
  }

  /**
   * Serves gRPC on `connection` (plain, or TLS already negotiated).
   *
   * @param tlsSocket the TLS socket `connection` reads, when it is TLS (it may be the socket
   *   itself or lie under filters): calls see its verified client certificate.
   */
  injectConnection(connection: Duplex, tlsSocket?: TLSSocket): void {
    this.#injectedTlsSocket = tlsSocket;
    try {
      this.#http2.emit('connection', connection);
    } finally {
      this.#injectedTlsSocket = undefined;
    }
  }

  /** Asks every client to go away (GOAWAY) and lets calls under way finish. */
  drain(): void {
    for (const session of this.#sessions) {
      if (!session.closed) session.close();
    }
  }

  /** Ends every connection at once. */
  destroy(): void {
    for (const session of this.#sessions) session.destroy();
    this.#sessions.clear();
  }

  #onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    // A stream's errors come with its 'close', which ends the call.
    stream.on('error', () => undefined);
    const contentType = headers[http2.HTTP2_HEADER_CONTENT_TYPE];
    if (typeof contentType !== 'string' || !contentType.startsWith('application/grpc')) {
      stream.respond(
        { [http2.HTTP2_HEADER_STATUS]: http2.HTTP_STATUS_UNSUPPORTED_MEDIA_TYPE },
        { endStream: true },
      );
      return;
    }
    const path = String(headers[http2.HTTP2_HEADER_PATH] ?? '');
    const method = this.#methods.get(path);
    if (method === undefined) {
      stream.respond(
        {
          [http2.HTTP2_HEADER_STATUS]: 200,
          [http2.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc+proto',
          'grpc-status': String(GrpcStatus.UNIMPLEMENTED),
          'grpc-message': encodeURI(`The server does not implement the method ${path}`),
        },
        { endStream: true },
      );
      return;
    }
    const call = new CallStream(
      stream,
      headers,
      method,
      this.#options.maxReceiveMessageBytes,
      method.recorder(),
      stream.session === undefined ? undefined : this.#tlsSockets.get(stream.session),
    );
    if (method.kind === 'unary') runUnary(call, method.handler);
    else if (method.kind === 'server-stream') runServerStream(call, method.handler);
    else runBidiStream(call, method.handler);
  }
}
