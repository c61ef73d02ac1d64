/**
 * One gRPC call on a `node:http2` stream: the request messages in (size limit, gzip or deflate,
 * deserialization), the response messages and the status out (headers, DATA, trailers, or a
 * trailers-only answer), the deadline (`grpc-timeout`) and cancellation. It speaks to the service
 * handlers through the objects of `handler-calls.ts`, which have grpc-js's shapes.
 */

import { constants as http2 } from 'node:http2';
import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import { gunzip, inflate } from 'node:zlib';
import { Metadata, status as GrpcStatus } from '@grpc/grpc-js';
import type { ServerUnaryCall } from '@grpc/grpc-js';
import type { CallRecorder } from '../../metrics/grpc-server-metrics.js';
import { MessageReader, MessageTooLargeError, framedMessage } from './message-reader.js';
import type { RawMessage } from './message-reader.js';

/** A call's status: a gRPC code, its message and optional trailing metadata. */
export interface CallStatus {
  code: number;
  details: string;
  metadata?: Metadata | undefined;
}

/** grpc-js's auth context of a call (what `getAuthContext()` answers). */
export type AuthContext = ReturnType<ServerUnaryCall<unknown, unknown>['getAuthContext']>;

/** What a call needs from its method's definition. */
export interface CallMethod {
  path: string;
  deserialize(bytes: Buffer): unknown;
  serialize(value: unknown): Uint8Array;
}

/** What the call tells its handler object. */
export interface CallListener {
  onMessage(message: unknown): void;
  onHalfClose(): void;
  /** The call ended without this side's status reaching the client, or after it did. */
  onCancel(): void;
}

// grpc-js's response headers, so that clients see what they saw before.
const RESPONSE_HEADERS: OutgoingHttpHeaders = {
  [http2.HTTP2_HEADER_STATUS]: 200,
  [http2.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc+proto',
  'grpc-accept-encoding': 'identity,deflate,gzip',
  'grpc-encoding': 'identity',
};
const TIMEOUT = /(\d{1,8})\s*([HMSmun])/;
const TIMEOUT_UNIT_MS: Record<string, number> = {
  H: 3_600_000,
  M: 60_000,
  S: 1000,
  m: 1,
  u: 0.001,
  n: 0.000001,
};
/** Request headers that are the transport's, not the call's metadata (as grpc-js removes them). */
const TRANSPORT_HEADERS = [
  'grpc-timeout',
  'grpc-encoding',
  'grpc-accept-encoding',
  'accept-encoding',
  'te',
  'content-type',
];

/** A status message as the `grpc-message` field carries it (percent-encoded, as grpc-js does). */
function encodedDetails(details: string): string {
  try {
    return encodeURI(details);
  } catch {
    return encodeURI(details.replace(/[\uD800-\uDFFF]/g, '\uFFFD'));
  }
}

/** The status a handler's error stands for (grpc-js's `serverErrorToStatus`). */
export function statusOfError(error: unknown): CallStatus {
  const { code, details, message, metadata } = (error ?? {}) as {
    code?: unknown;
    details?: unknown;
    message?: unknown;
    metadata?: unknown;
  };
  return {
    code: Number.isInteger(code) ? (code as number) : GrpcStatus.UNKNOWN,
    details:
      typeof details === 'string'
        ? details
        : typeof message === 'string'
          ? message
          : 'Unknown Error',
    metadata: metadata instanceof Metadata ? metadata : undefined,
  };
}

/** The transport side of one call (see the file comment). */
export class CallStream {
  readonly method: CallMethod;
  readonly #stream: ServerHttp2Stream;
  readonly #tlsSocket: TLSSocket | undefined;
  readonly #headers: IncomingHttpHeaders;
  readonly #recorder: CallRecorder;
  readonly #reader: MessageReader;
  readonly #maxBytes: number;
  readonly #encoding: string;
  #listener: CallListener | undefined;
  #metadata: Metadata | undefined;
  #deadline: NodeJS.Timeout | undefined;
  #headersSent = false;
  #statusSent = false;
  #cancelled = false;
  /** Messages and the half-close waiting behind a message being decompressed. */
  #queue: (RawMessage | 'half-close')[] = [];
  #decompressing = false;

  constructor(
    stream: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
    method: CallMethod,
    maxReceiveBytes: number,
    recorder: CallRecorder,
    tlsSocket?: TLSSocket,
  ) {
    this.#stream = stream;
    this.#tlsSocket = tlsSocket;
    this.#headers = headers;
    this.method = method;
    this.#recorder = recorder;
    this.#maxBytes = maxReceiveBytes;
    this.#reader = new MessageReader(maxReceiveBytes);
    const encoding = headers['grpc-encoding'];
    this.#encoding = typeof encoding === 'string' ? encoding : 'identity';
    const timeout = headers['grpc-timeout'];
    if (typeof timeout === 'string') this.#startDeadline(timeout);
    stream.on('close', () => this.#onClose());
  }

  /** Starts reading the request; `listener` hears its messages, half-close and cancellation. */
  start(listener: CallListener): void {
    this.#listener = listener;
    if (this.#statusSent) return;
    this.#stream.on('data', (chunk: Buffer) => this.#onData(chunk));
    this.#stream.on('end', () => this.#enqueue('half-close'));
  }

  get cancelled(): boolean {
    return this.#cancelled;
  }

  /** The request's metadata (its headers but the transport's), built when first asked for. */
  get metadata(): Metadata {
    if (this.#metadata === undefined) {
      const metadata = Metadata.fromHttp2Headers(this.#headers);
      for (const name of TRANSPORT_HEADERS) metadata.remove(name);
      this.#metadata = metadata;
    }
    return this.#metadata;
  }

  /** grpc-js's auth context: the verified client certificate of a TLS connection. */
  authContext(): AuthContext {
    const socket = this.#tlsSocket;
    if (socket === undefined || !socket.authorized) return {};
    const certificate = socket.getPeerCertificate();
    return certificate.raw === undefined
      ? { transportSecurityType: 'ssl' }
      : { transportSecurityType: 'ssl', sslPeerCertificate: certificate };
  }

  /** The peer's address, as grpc-js names it. */
  peer(): string {
    const socket = this.#stream.session?.socket;
    if (socket?.remoteAddress === undefined) return 'unknown';
    return socket.remotePort === undefined
      ? socket.remoteAddress
      : `${socket.remoteAddress}:${socket.remotePort}`;
  }

  /** Stops (or restarts) reading the request, so HTTP/2 flow control holds the client. */
  pauseReading(paused: boolean): void {
    if (this.#cancelled || this.#stream.destroyed) return;
    if (paused) this.#stream.pause();
    else this.#stream.resume();
  }

  /**
   * Sends one response message; `written` runs once the stream took it (it never runs on a
   * call that ended, as with grpc-js). A response that cannot be serialized ends the call.
   */
  sendMessage(value: unknown, written?: (error?: Error | null) => void): void {
    if (this.#statusSent || this.#cancelled) return;
    let framed: Buffer;
    try {
      framed = framedMessage(this.method.serialize(value));
    } catch {
      this.sendStatus({ code: GrpcStatus.INTERNAL, details: 'Error serializing response' });
      return;
    }
    this.#sendHeaders();
    this.#recorder.sent();
    this.#stream.write(framed, (error) => {
      if (error) {
        this.sendStatus({ code: GrpcStatus.INTERNAL, details: 'Internal server error' });
        return;
      }
      written?.();
    });
  }

  /** Ends the call with `status` (once; later statuses are ignored). */
  sendStatus(status: CallStatus): void {
    if (this.#statusSent || this.#cancelled) return;
    this.#statusSent = true;
    this.#clearDeadline();
    this.#recorder.finished(status.code);
    const fields: OutgoingHttpHeaders = {
      'grpc-status': String(status.code),
      'grpc-message': encodedDetails(status.details),
    };
    if (status.metadata !== undefined) Object.assign(fields, status.metadata.toHttp2Headers());
    const stream = this.#stream;
    if (stream.destroyed || stream.closed) {
      this.#notifyCancel();
      return;
    }
    try {
      if (this.#headersSent) {
        stream.once('wantTrailers', () => {
          if (!stream.destroyed) stream.sendTrailers(fields);
          this.#notifyCancel();
        });
        stream.end();
      } else {
        // Trailers-only: the status in the one HEADERS frame of the answer.
        this.#headersSent = true;
        stream.respond({ ...RESPONSE_HEADERS, ...fields }, { endStream: true });
        this.#notifyCancel();
      }
    } catch {
      // The client reset the stream meanwhile: 'close' follows.
      this.#notifyCancel();
    }
  }

  #sendHeaders(): void {
    if (this.#headersSent) return;
    this.#headersSent = true;
    this.#stream.respond(RESPONSE_HEADERS, { waitForTrailers: true });
  }

  #startDeadline(header: string): void {
    const match = TIMEOUT.exec(header);
    if (match === null) {
      process.nextTick(() =>
        this.sendStatus({
          code: GrpcStatus.INTERNAL,
          details: `Invalid grpc-timeout value "${header}"`,
        }),
      );
      return;
    }
    const timeoutMs = (Number(match[1]) * (TIMEOUT_UNIT_MS[match[2] as string] ?? 1)) | 0;
    this.#deadline = setTimeout(
      () => this.sendStatus({ code: GrpcStatus.DEADLINE_EXCEEDED, details: 'Deadline exceeded' }),
      timeoutMs,
    );
  }

  #clearDeadline(): void {
    if (this.#deadline !== undefined) clearTimeout(this.#deadline);
    this.#deadline = undefined;
  }

  #onData(chunk: Buffer): void {
    if (this.#statusSent || this.#cancelled) return;
    let messages: RawMessage[];
    try {
      messages = this.#reader.read(chunk);
    } catch (error) {
      this.sendStatus(
        error instanceof MessageTooLargeError
          ? { code: GrpcStatus.RESOURCE_EXHAUSTED, details: error.message }
          : { code: GrpcStatus.INTERNAL, details: 'Error reading request' },
      );
      return;
    }
    for (const message of messages) this.#enqueue(message);
  }

  /** Delivers messages and the half-close in order, waiting for any being decompressed. */
  #enqueue(item: RawMessage | 'half-close'): void {
    if (this.#decompressing || this.#queue.length > 0) {
      this.#queue.push(item);
      return;
    }
    this.#deliver(item);
  }

  #deliver(item: RawMessage | 'half-close'): void {
    if (this.#statusSent || this.#cancelled) return;
    if (item === 'half-close') {
      this.#listener?.onHalfClose();
      return;
    }
    if (item.compressed && this.#encoding !== 'identity') {
      this.#decompressing = true;
      this.#decompress(item.bytes, (bytes) => {
        this.#decompressing = false;
        if (bytes !== undefined) this.#decode(bytes);
        for (let next = this.#queue.shift(); next !== undefined; next = this.#queue.shift()) {
          this.#deliver(next);
          if (this.#decompressing) return;
        }
      });
      return;
    }
    this.#decode(item.bytes);
  }

  #decompress(bytes: Buffer, done: (bytes: Buffer | undefined) => void): void {
    const inflater =
      this.#encoding === 'gzip' ? gunzip : this.#encoding === 'deflate' ? inflate : undefined;
    if (inflater === undefined) {
      this.sendStatus({
        code: GrpcStatus.UNIMPLEMENTED,
        details: `Received message compressed with unsupported encoding "${this.#encoding}"`,
      });
      done(undefined);
      return;
    }
    // A bound on what inflates, so that a small bomb cannot fill the memory.
    inflater(bytes, { maxOutputLength: Math.max(this.#maxBytes, 1) }, (error, result) => {
      if (error === null) {
        done(result);
        return;
      }
      const tooLarge = (error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
      this.sendStatus(
        tooLarge
          ? {
              code: GrpcStatus.RESOURCE_EXHAUSTED,
              details: `Received message that decompresses to a size larger than ${this.#maxBytes}`,
            }
          : { code: GrpcStatus.INTERNAL, details: 'Failed to decompress message' },
      );
      done(undefined);
    });
  }

  #decode(bytes: Buffer): void {
    let message: unknown;
    try {
      message = this.method.deserialize(bytes);
    } catch {
      this.sendStatus({ code: GrpcStatus.INTERNAL, details: 'Error deserializing request' });
      return;
    }
    this.#recorder.received();
    this.#listener?.onMessage(message);
  }

  #onClose(): void {
    if (!this.#statusSent) {
      // The client went (reset, connection lost) before the answer: a cancelled call.
      this.#statusSent = true;
      this.#clearDeadline();
      this.#recorder.finished(GrpcStatus.CANCELLED);
    }
    this.#notifyCancel();
  }

  /** Tells the handler the call is over (grpc-js does so after a status, too), once. */
  #notifyCancel(): void {
    if (this.#cancelled) return;
    this.#cancelled = true;
    this.#clearDeadline();
    // Whatever the client still sends is read and dropped.
    if (!this.#stream.destroyed) this.#stream.resume();
    const listener = this.#listener;
    if (listener !== undefined) process.nextTick(() => listener.onCancel());
  }
}
