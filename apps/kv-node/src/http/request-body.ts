import type { IncomingMessage } from 'node:http';
import { tooLarge } from './api-error.js';

/** etcd's error for a request over `--max-request-bytes` (ErrRequestTooLarge), word for word. */
export const REQUEST_TOO_LARGE = 'etcdserver: request is too large';

/**
 * Reads a request body up to `maxBytes`.
 *
 * @throws ApiError (413) as soon as the declared or received length exceeds `maxBytes`; the rest
 *   of the body is left unread and paused (`Exchange.error` answers, then discards it, bounded).
 */
export function readBody(request: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > maxBytes) {
    return Promise.reject(tooLarge(REQUEST_TOO_LARGE, 'body'));
  }
  // Events rather than an async iterator: this runs once per request and the iterator costs more.
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const cleanup = (): void => {
      request.off('data', onData);
      request.off('end', onEnd);
      request.off('error', onError);
      request.off('aborted', onAborted);
    };
    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      if (received > maxBytes) {
        cleanup();
        request.pause();
        reject(tooLarge(REQUEST_TOO_LARGE, 'body'));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, received));
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(error);
    };
    const onAborted = (): void => onError(new Error('request aborted by the client'));
    request.on('data', onData);
    request.on('end', onEnd);
    request.on('error', onError);
    request.on('aborted', onAborted);
  });
}
