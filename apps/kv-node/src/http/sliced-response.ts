/**
 * Writes a response body slice by slice, yielding to the event loop between slices and waiting
 * for the socket to drain when its buffer is full: a large answer then neither holds the event
 * loop (heartbeats and appends of the replicated log keep flowing) nor piles up in memory when
 * the client reads slowly.
 */

import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { setImmediate as nextTurn } from 'node:timers/promises';

/** Resolves when `response` can take more bytes, or when its connection is gone. */
function drainedOrClosed(response: ServerResponse): Promise<void> {
  if (response.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      response.off('drain', done);
      response.off('close', done);
      resolve();
    };
    response.once('drain', done);
    response.once('close', done);
  });
}

/**
 * Sends `status` and `headers`, then the slices, then ends the response. A body of one slice is
 * sent with a `content-length`; a longer one is chunked. Stops early (without an error) if the
 * client goes away.
 *
 * @throws whatever producing a slice throws; the response is then destroyed, since part of the
 *   body may already be on the wire and no error envelope can follow it.
 */
export async function sendSlices(
  response: ServerResponse,
  status: number,
  headers: OutgoingHttpHeaders,
  slices: Iterable<string>,
): Promise<void> {
  const iterator = slices[Symbol.iterator]();
  const first = iterator.next();
  let next: IteratorResult<string>;
  try {
    next = first.done === true ? first : iterator.next();
  } catch (error) {
    iterator.return?.();
    throw error;
  }
  if (first.done === true || next.done === true) {
    const body = first.done === true ? '' : first.value;
    response.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body) });
    response.end(body);
    return;
  }
  response.writeHead(status, headers);
  // Whether the client is still there after writing `slice` (and waiting for room if needed).
  const write = async (slice: string): Promise<boolean> => {
    if (response.destroyed) return false;
    if (!response.write(slice)) await drainedOrClosed(response);
    return !response.destroyed;
  };
  let pending: IteratorResult<string> = next;
  try {
    if (!(await write(first.value))) return;
    while (pending.done !== true) {
      await nextTurn();
      if (!(await write(pending.value))) return;
      pending = iterator.next();
    }
  } catch (error) {
    response.destroy(error as Error);
    throw error;
  } finally {
    iterator.return?.();
  }
  if (!response.destroyed) response.end();
}
