/** One HTTP request and its response, with the helpers every route uses. */

import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { ApiError, badRequest } from './api-error.js';
import { readBody } from './request-body.js';
import { sendBeforeBody } from './early-response.js';
import { sendSlices } from './sliced-response.js';

/**
 * Paths that URL parsing leaves exactly as sent (no dot segments, percent escapes, backslashes,
 * or a leading `//` that would be read as a host): the common case, routed without a `URL`.
 */
const PLAIN_PATH = /^\/(?!\/)[A-Za-z0-9_\-/]*$/;

function parseRequestUrl(target: string): URL {
  try {
    return new URL(target, 'http://localhost');
  } catch {
    // An unparsable request target is routed nowhere (404) rather than crashing the handler.
    return new URL('http://localhost/\u0000invalid');
  }
}

/** A request in flight: the parsed URL, body readers and response writers. */
export class Exchange {
  /** The Node request. */
  readonly request: IncomingMessage;
  /** The Node response. */
  readonly response: ServerResponse;
  /** The status sent, once sent. */
  status = 0;
  #url: URL | undefined;

  /**
   * @param request the Node request.
   * @param response the Node response.
   */
  constructor(request: IncomingMessage, response: ServerResponse) {
    this.request = request;
    this.response = response;
    const raw = request.url ?? '/';
    const query = raw.indexOf('?');
    this.rawPath = query < 0 ? raw : raw.slice(0, query);
  }

  /** The parsed request URL (path and query), parsed on first use. */
  get url(): URL {
    this.#url ??= parseRequestUrl(this.request.url ?? '/');
    return this.#url;
  }

  /**
   * The request path as URL parsing normalizes it (dot segments resolved), for routing; without
   * parsing when the path is plain.
   */
  get pathname(): string {
    return this.#url === undefined && PLAIN_PATH.test(this.rawPath)
      ? this.rawPath
      : this.url.pathname;
  }

  /**
   * The request path exactly as sent (still percent-encoded, dot segments kept): keys are taken
   * from it, because URL normalization would turn the key `a/../b` into `b`.
   */
  readonly rawPath: string;

  /** The body as bytes. @throws ApiError (413) over `maxBytes`. */
  async readRaw(maxBytes: number): Promise<Buffer> {
    return readBody(this.request, maxBytes);
  }

  /** The body parsed as JSON (an empty body is `{}`, as etcd's gateway treats it). */
  async readJson(maxBytes: number): Promise<unknown> {
    const body = await this.readRaw(maxBytes);
    if (body.length === 0) return {};
    try {
      return JSON.parse(body.toString('utf8')) as unknown;
    } catch (error) {
      throw badRequest(`malformed JSON: ${(error as Error).message}`, 'body');
    }
  }

  /** A single request header's value. */
  header(name: string): string | undefined {
    const value = this.request.headers[name];
    return Array.isArray(value) ? value[0] : value;
  }

  /** Sends a JSON body. */
  json(status: number, body: unknown, headers: OutgoingHttpHeaders = {}): void {
    this.send(status, JSON.stringify(body), { 'content-type': 'application/json', ...headers });
  }

  /**
   * Sends a JSON body already serialized, with only the two headers every JSON answer has: the
   * put path's answer, built without a header object to spread or copy per request.
   */
  jsonText(status: number, text: string): void {
    if (this.response.headersSent) return;
    this.status = status;
    this.response.writeHead(status, {
      'content-length': Buffer.byteLength(text),
      'content-type': 'application/json',
    });
    this.response.end(text);
  }

  /** Sends a body as is. */
  send(status: number, body: string | Buffer, headers: OutgoingHttpHeaders = {}): void {
    if (this.response.headersSent) return;
    this.status = status;
    this.response.writeHead(status, {
      'content-length': Buffer.byteLength(body),
      ...headers,
    });
    this.response.end(body);
  }

  /**
   * Sends a JSON body given as slices (see `sliced-response.ts`): written one at a time, yielding
   * to the event loop in between and honouring backpressure.
   */
  async streamJson(
    status: number,
    slices: Iterable<string>,
    headers: OutgoingHttpHeaders = {},
  ): Promise<void> {
    if (this.response.headersSent) return;
    this.status = status;
    await sendSlices(
      this.response,
      status,
      { 'content-type': 'application/json', ...headers },
      slices,
    );
  }

  /**
   * Sends the error envelope. If the request body may be unread (a 413, an error before the body
   * was read), the answer is sent first and the rest of the body is discarded, up to a bound,
   * before the connection closes: see `early-response.ts`.
   */
  error(error: ApiError): void {
    const headers: OutgoingHttpHeaders = { 'content-type': 'application/json' };
    if (error.details.retryAfterSeconds !== undefined) {
      headers['retry-after'] = String(error.details.retryAfterSeconds);
    }
    if (this.request.complete) {
      this.json(error.details.status, error, headers);
      return;
    }
    if (this.response.headersSent) return;
    this.status = error.details.status;
    sendBeforeBody(
      this.request,
      this.response,
      error.details.status,
      headers,
      JSON.stringify(error),
    );
  }
}

export { ApiError };
