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

/** Arms the timer of one request whose body has not all arrived, `timeoutMs` from now. */
function armTimer(request: IncomingMessage, response: ServerResponse, timeoutMs: number): void {
  const timer = setTimeout(() => expire(request, response), timeoutMs);
  const disarm = (): void => clearTimeout(timer);
  request.once('end', disarm);
  response.once('close', disarm);
}

/**
 * Requests whose deadline was asked for in this event-loop turn, waiting for the turn to end:
 * nearly all of them have their whole body by then (it came in the same read as the headers,
 * and the parser reads it right after the `request` event), and those need no timer at all.
 */
const pendingRequests: IncomingMessage[] = [];
const pendingResponses: ServerResponse[] = [];
const pendingTimeouts: number[] = [];
/** When the first pending request of this turn was armed (`performance.now()`). */
let pendingSince = 0;

function armPending(): void {
  const elapsed = performance.now() - pendingSince;
  for (let index = 0; index < pendingRequests.length; index++) {
    const request = pendingRequests[index] as IncomingMessage;
    if (request.complete) continue;
    const timeoutMs = pendingTimeouts[index] as number;
    // The deadline still counts from the headers, not from the end of this turn.
    armTimer(request, pendingResponses[index] as ServerResponse, Math.max(1, timeoutMs - elapsed));
  }
  pendingRequests.length = 0;
  pendingResponses.length = 0;
  pendingTimeouts.length = 0;
}

/**
 * Arms the request timeout of `request` (see the module comment); disarmed once its body has all
 * arrived or its response has ended.
 *
 * Why deferred to the end of the turn: a timer per request costs a timer-list insertion and
 * removal, three closures and two listener registrations, while a request whose body has arrived
 * by the end of the turn that parsed its headers (every small request on a healthy connection)
 * can no longer be slow. One `setImmediate` per turn then looks at them all.
 *
 * @param timeoutMs the longest time, in ms, from the headers to the end of the body; 0: none.
 */
export function armRequestDeadline(
  request: IncomingMessage,
  response: ServerResponse,
  timeoutMs: number,
): void {
  if (timeoutMs <= 0 || request.complete) return;
  if (pendingRequests.length === 0) {
    pendingSince = performance.now();
    setImmediate(armPending);
  }
  pendingRequests.push(request);
  pendingResponses.push(response);
  pendingTimeouts.push(timeoutMs);
}
