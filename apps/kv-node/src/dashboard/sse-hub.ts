/** The open server-sent-event streams of the dashboard, each fed every new view. */

import type { IncomingMessage, ServerResponse } from 'node:http';

/** A stream whose client reads slower than this many buffered bytes is dropped. */
const MAX_BUFFERED_BYTES = 1 << 20;

/** Server-sent events (`text/event-stream`) to a bounded number of clients. */
export class SseHub {
  readonly #maxStreams: number;
  readonly #streams = new Set<ServerResponse>();

  /** @param maxStreams the most streams open at once; more are refused with 503. */
  constructor(maxStreams: number) {
    this.#maxStreams = maxStreams;
  }

  /** How many streams are open. */
  get size(): number {
    return this.#streams.size;
  }

  /**
   * Opens a stream on `response` and sends `initial` (an already encoded event) if given.
   * Refuses with 503 when {@link SseHub} is full.
   */
  open(request: IncomingMessage, response: ServerResponse, initial?: string): void {
    if (this.#streams.size >= this.#maxStreams) {
      response.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '5' });
      response.end('too many dashboard streams open\n');
      return;
    }
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      // Tells buffering reverse proxies (nginx) to pass each event on at once.
      'x-accel-buffering': 'no',
    });
    // The browser reconnects this many ms after a drop (a restarted node, a proxy timeout).
    response.write('retry: 1000\n\n');
    if (initial !== undefined) response.write(initial);
    this.#streams.add(response);
    const forget = (): void => {
      this.#streams.delete(response);
    };
    request.once('close', forget);
    response.once('close', forget);
  }

  /** Sends one event to every stream. */
  broadcast(event: string): void {
    for (const response of this.#streams) {
      if (response.writableLength > MAX_BUFFERED_BYTES) {
        // A stalled reader would make us buffer without bound; it reconnects and catches up.
        this.#streams.delete(response);
        response.destroy();
        continue;
      }
      response.write(event);
    }
  }

  /** Ends every stream (so a server closing after this is not held open by them). */
  close(): void {
    for (const response of this.#streams) response.end();
    this.#streams.clear();
  }
}

/** Encodes a server-sent event whose data is `value` as JSON (one line: JSON has no newlines). */
export function encodeEvent(eventName: string, value: unknown): string {
  return `event: ${eventName}\ndata: ${JSON.stringify(value)}\n\n`;
}
