/**
 * The call objects the service handlers are written against, with the shapes (and the event
 * order) of grpc-js's: a unary call and its callback, a server stream (a Writable of response
 * objects) and a bidirectional stream (a Duplex: requests in, responses out). `'cancelled'` comes
 * when the call is over, by the client or after its status, as in grpc-js.
 */

import { EventEmitter } from 'node:events';
import { Duplex } from 'node:stream';
import type { Metadata } from '@grpc/grpc-js';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { AuthContext, CallStatus, CallStream } from './call-stream.js';
import { statusOfError } from './call-stream.js';

/** A handler as a service implementation holds it (grpc-js's untyped handler). */
export type AnyHandler = (...args: never[]) => void;

/** The handler-facing parts every call shares. */
interface CallView {
  readonly metadata: Metadata;
  cancelled: boolean;
  getPath(): string;
  getPeer(): string;
  getAuthContext(): AuthContext;
}

class UnaryCall extends EventEmitter implements CallView {
  cancelled = false;
  readonly #call: CallStream;
  readonly request: unknown;

  constructor(call: CallStream, request: unknown) {
    super();
    this.#call = call;
    this.request = request;
  }

  get metadata(): Metadata {
    return this.#call.metadata;
  }
  getPath(): string {
    return this.#call.method.path;
  }
  getPeer(): string {
    return this.#call.peer();
  }
  getAuthContext(): AuthContext {
    return this.#call.authContext();
  }
}

/**
 * A streaming call: writes are response messages (taken once the HTTP/2 stream has them, so a
 * client that does not read holds the writer back); the readable side carries the requests of
 * a bidirectional call. An `'error'` event ends the call with that error's status.
 */
class StreamCall extends Duplex implements CallView {
  cancelled = false;
  readonly #call: CallStream;
  request: unknown = undefined;
  #pendingStatus: CallStatus = { code: GrpcStatus.OK, details: 'OK' };

  constructor(call: CallStream) {
    super({ objectMode: true, allowHalfOpen: true });
    this.#call = call;
    this.on('error', (error: unknown) => {
      this.#pendingStatus = statusOfError(error);
      this.end();
    });
  }

  get metadata(): Metadata {
    return this.#call.metadata;
  }
  getPath(): string {
    return this.#call.method.path;
  }
  getPeer(): string {
    return this.#call.peer();
  }
  getAuthContext(): AuthContext {
    return this.#call.authContext();
  }

  override _read(): void {
    this.#call.pauseReading(false);
  }

  override _write(
    response: unknown,
    _encoding: BufferEncoding,
    callback: (error?: Error | null) => void,
  ): void {
    this.#call.sendMessage(response, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    callback(null);
    this.#call.sendStatus(this.#pendingStatus);
  }

  /** A request message (bidirectional calls); reading pauses while the handler has enough. */
  deliver(message: unknown): void {
    if (!this.push(message)) this.#call.pauseReading(true);
  }
}

/** Runs a unary `handler` on `call` once its one request message and half-close arrived. */
export function runUnary(call: CallStream, handler: AnyHandler): void {
  let request: unknown;
  let received = false;
  let view: UnaryCall | undefined;
  call.start({
    onMessage: (message) => {
      if (received) {
        call.sendStatus({
          code: GrpcStatus.UNIMPLEMENTED,
          details: `Received a second request message for server streaming method ${call.method.path}`,
        });
        return;
      }
      received = true;
      request = message;
    },
    onHalfClose: () => {
      if (!received) {
        call.sendStatus({
          code: GrpcStatus.UNIMPLEMENTED,
          details: `Received no request message for server streaming method ${call.method.path}`,
        });
        return;
      }
      view = new UnaryCall(call, request);
      const respond = (error: unknown, value?: unknown): void => {
        if (error !== null && error !== undefined) {
          call.sendStatus(statusOfError(error));
          return;
        }
        call.sendMessage(value);
        call.sendStatus({ code: GrpcStatus.OK, details: 'OK' });
      };
      guarded(call, () =>
        (handler as unknown as (call: UnaryCall, callback: typeof respond) => void)(
          view as UnaryCall,
          respond,
        ),
      );
    },
    onCancel: () => {
      if (view === undefined) return;
      view.cancelled = true;
      view.emit('cancelled', 'cancelled');
    },
  });
}

/** Runs a server-streaming `handler` once its one request message and half-close arrived. */
export function runServerStream(call: CallStream, handler: AnyHandler): void {
  const stream = new StreamCall(call);
  let received = false;
  let started = false;
  call.start({
    onMessage: (message) => {
      if (received) {
        call.sendStatus({
          code: GrpcStatus.UNIMPLEMENTED,
          details: `Received a second request message for server streaming method ${call.method.path}`,
        });
        return;
      }
      received = true;
      stream.request = message;
    },
    onHalfClose: () => {
      if (!received) {
        call.sendStatus({
          code: GrpcStatus.UNIMPLEMENTED,
          details: `Received no request message for server streaming method ${call.method.path}`,
        });
        return;
      }
      started = true;
      // Nothing more to read: ended and flowing, so that the stream closes once written.
      stream.push(null);
      stream.resume();
      guarded(call, () => (handler as unknown as (call: StreamCall) => void)(stream));
    },
    onCancel: () => cancel(stream, started),
  });
}

/** Runs a bidirectional `handler` at once: requests arrive as the stream's `'data'`. */
export function runBidiStream(call: CallStream, handler: AnyHandler): void {
  const stream = new StreamCall(call);
  call.start({
    onMessage: (message) => stream.deliver(message),
    onHalfClose: () => stream.push(null),
    onCancel: () => cancel(stream, true),
  });
  guarded(call, () => (handler as unknown as (call: StreamCall) => void)(stream));
}

/** Runs `handler`; one that throws ends the call with UNKNOWN, as grpc-js does. */
function guarded(call: CallStream, handler: () => void): void {
  try {
    handler();
  } catch {
    call.sendStatus({ code: GrpcStatus.UNKNOWN, details: 'Unknown error' });
  }
}

function cancel(stream: StreamCall, started: boolean): void {
  stream.cancelled = true;
  if (started) stream.emit('cancelled', 'cancelled');
  stream.destroy();
}
