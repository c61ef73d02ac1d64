/**
 * Answers a request before its body has been read (a 413, a refused host) so that every client
 * reads the answer. Closing at once is not enough: a client still sending its body gets a TCP
 * reset when the server closes with unread bytes, and the reset makes it drop the answer it had
 * already received. So the answer is sent whole, and the rest of the body is read and thrown away,
 * up to a bound, before the connection is closed. The body is never buffered.
 */

import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';

/** Most body bytes read and discarded after an early answer before the connection is cut. */
export const EARLY_RESPONSE_DRAIN_BYTES = 8 * 1024 * 1024;
/** Longest wait for the rest of the body after an early answer, in ms. */
export const EARLY_RESPONSE_DRAIN_MS = 5000;

/** Bounds of {@link sendBeforeBody}'s draining (defaults above). */
export interface DrainBounds {
  maxBytes?: number;
  timeoutMs?: number;
}

/**
 * Sends `status`, `headers` and `body` (with `connection: close`), then reads and discards the
 * rest of the request body; the response ends, and the connection closes, when the body has been
 * read or a bound is reached, whichever comes first.
 */
export function sendBeforeBody(
  request: IncomingMessage,
  response: ServerResponse,
  status: number,
  headers: OutgoingHttpHeaders,
  body: string,
  bounds: DrainBounds = {},
): void {
  if (response.headersSent) return;
  response.writeHead(status, {
    ...headers,
    'content-length': Buffer.byteLength(body),
    connection: 'close',
  });
  // The whole answer goes out now; ending the response would close the connection.
  response.write(body);
  const maxBytes = bounds.maxBytes ?? EARLY_RESPONSE_DRAIN_BYTES;
  let discarded = 0;
  let finished = false;
  const finish = (cut: boolean): void => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    request.off('data', onData);
    request.off('end', onEnd);
    request.off('close', onEnd);
    response.end();
    // Past a bound the client is sending too much or too slowly: cut it off.
    if (cut) request.socket.destroySoon();
  };
  const onData = (chunk: Buffer): void => {
    discarded += chunk.length;
    if (discarded > maxBytes) finish(true);
  };
  const onEnd = (): void => finish(false);
  const timer = setTimeout(() => finish(true), bounds.timeoutMs ?? EARLY_RESPONSE_DRAIN_MS);
  timer.unref();
  if (request.readableEnded) {
    finish(false);
    return;
  }
  request.on('data', onData);
  request.once('end', onEnd);
  request.once('close', onEnd);
  request.resume();
}
