/**
 * The request timeout, per request: a request whose body has not all arrived `timeoutMs` after
 * its headers is answered 408 and its connection closed (or, if its answer has started, the
 * connection is closed), as Node's `requestTimeout` does, unless the request has become a
 * long-lived stream.
 *
 * Why not Node's `requestTimeout`: it counts until the whole request body has arrived, for every
 * request on the server alike, so it cut a gateway watch whose client keeps its request body open
 * to send cancel or create requests later, ten seconds into the stream. etcd's gateway keeps such
 * a stream open as long as the client does. Here a route that turns its request into a stream
 * calls {@link keepStreamOpen} once the stream has started; until then, the timeout applies (a
 * watch whose first request never comes is still cut). The headers keep Node's `headersTimeout`.
 */

import type { IncomingMessage, ServerResponse } from 'node:http';

const streams = new WeakSet<IncomingMessage>();

/**
 * Exempts `request` from the request timeout from now on: its body is a stream of requests that
 * may stay open as long as the response does.
 */
export function keepStreamOpen(request: IncomingMessage): void {
  streams.add(request);
}

function expire(request: IncomingMessage, response: ServerResponse): void {
  if (request.complete || streams.has(request) || request.socket.destroyed) return;
  if (response.headersSent) {
    request.socket.destroy();
    return;
  }
  response.shouldKeepAlive = false;
  response.once('finish', () => request.socket.destroy());
  response.writeHead(408, { connection: 'close', 'content-length': 0 });
  response.end();
}

/**
 * Arms the request timeout of `request` (see the module comment); disarmed once its body has all
 * arrived or its response has ended.
 *
 * @param timeoutMs the longest time, in ms, from the headers to the end of the body; 0: none.
 */
export function armRequestDeadline(
  request: IncomingMessage,
  response: ServerResponse,
  timeoutMs: number,
): void {
  if (timeoutMs <= 0 || request.complete) return;
  const timer = setTimeout(() => expire(request, response), timeoutMs);
  const disarm = (): void => clearTimeout(timer);
  request.once('end', disarm);
  response.once('close', disarm);
}
