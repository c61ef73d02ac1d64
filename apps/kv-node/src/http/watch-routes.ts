/**
 * Watch over HTTP: etcd 3.4's gateway stream `POST /v3/watch` (a body of JSON requests, a chunked
 * response of one `{"result": ...}` object per line) and `GET /v1/watch` as Server-Sent Events
 * (`id` is the revision, so an `EventSource` resumes with `Last-Event-ID` and loses nothing).
 * Any member serves watches from its applied state (see `watch/watch-hub.ts`).
 */

import { rangeNeeds } from '../auth/request-permissions.js';
import type { ByteString } from '../store/byte-string.js';
import {
  base64FromByteString,
  byteStringFromUtf8,
  bytesFromByteString,
  prefixRangeEnd,
  utf8FromByteString,
} from '../store/byte-string.js';
import type { KeyValue } from '../store/kv-types.js';
import { rangeRequest } from '../store/kv-types.js';
import { eventsResponseLine } from '../watch/watch-encoding.js';
import { watchHubOf } from '../watch/watch-hub.js';
import type { WatchStreamRequest } from '../watch/watch-session.js';
import { WatchSession, decodeWatchRequest } from '../watch/watch-session.js';
import type { WatchOutput } from '../watch/watch-stream.js';
import { WatchStream } from '../watch/watch-stream.js';
import type { ApiContext } from './api-context.js';
import { badRequest } from './api-error.js';
import type { JsonBody } from './etcd-json.js';
import type { Exchange } from './exchange.js';
import { JsonObjectStream } from './json-object-stream.js';
import { readBarrier } from './kv-operations.js';
import { keepStreamOpen } from './request-deadline.js';
import { isUtf8 } from 'node:buffer';
import type { ServerResponse } from 'node:http';

/** A response as a watch stream's output of text chunks. */
function responseOutput(response: ServerResponse): WatchOutput<string> {
  return {
    write: (text) => response.write(text),
    // One chunk and one syscall for what a pass gathered.
    writeAll: (texts) => response.write(texts.join('')),
    onDrain: (listener) => response.on('drain', listener),
    onClose: (listener) => response.once('close', listener),
    end: () => {
      if (!response.writableEnded) response.end();
    },
  };
}

/** POST /v3/watch: etcd 3.4's gateway watch stream (see `watch/watch-session.ts`). */
export async function v3Watch(context: ApiContext, exchange: Exchange): Promise<void> {
  const line = (result: JsonBody): string => `${JSON.stringify({ result })}\n`;
  const parse = (text: string): WatchStreamRequest => {
    let value: unknown;
    try {
      value = JSON.parse(text) as unknown;
    } catch (error) {
      throw badRequest(`malformed JSON: ${(error as Error).message}`, 'body');
    }
    return decodeWatchRequest(value);
  };
  // The first request decides the answer's status: a bad one is a plain 400.
  const requests = new JsonObjectStream(context.limits.maxRequestBytes);
  const pending: string[] = [];
  const request = exchange.request;
  request.setEncoding('utf8');
  let failed: Error | undefined;
  // Set once the stream has started; requests that arrive before wait in `pending`.
  const started: { session?: WatchSession<string> } = {};
  request.on('data', (chunk: string) => {
    try {
      pending.push(...requests.push(chunk));
    } catch (error) {
      failed = badRequest((error as Error).message, 'body');
    }
    if (started.session !== undefined && !started.session.closed) {
      drainRequests(started.session);
    }
  });
  const drainRequests = (open: WatchSession<string>): void => {
    try {
      for (let text = pending.shift(); text !== undefined; text = pending.shift()) {
        open.handle(parse(text), exchange);
      }
      if (failed !== undefined) throw failed;
    } catch (error) {
      // After the stream started, a bad request ends it (etcd's gateway does the same).
      exchange.response.write(line({ error: (error as Error).message }));
      open.close();
    }
  };
  // Wait for the first whole request (or the end of the body, or a bad one).
  await new Promise<void>((resolve) => {
    const check = (): void => {
      if (pending.length === 0 && failed === undefined && !request.readableEnded) return;
      request.off('data', check);
      request.off('end', check);
      request.off('close', check);
      resolve();
    };
    request.on('data', check);
    request.on('end', check);
    request.on('close', check);
    check();
  });
  if (failed !== undefined) throw failed;
  const first = pending.shift();
  if (first === undefined) {
    throw badRequest(
      requests.midObject
        ? 'the request body ends inside a JSON object'
        : 'a watch needs a create_request',
      'body',
    );
  }
  // Checked before the stream starts, so a malformed or forbidden first request is a plain error.
  const firstRequest = parse(first);
  if (firstRequest.kind !== 'create') throw badRequest('a watch needs a create_request', 'body');
  const { key, rangeEnd } = firstRequest.create.request;
  context.auth.authorize(context.backend.auth, exchange, () =>
    rangeNeeds(rangeRequest(key, { rangeEnd })),
  );
  await readBarrier(context);
  exchange.status = 200;
  exchange.response.writeHead(200, { 'content-type': 'application/json' });
  // A stream now: its body stays open as long as the client wants to send requests on it.
  keepStreamOpen(request);
  const open = new WatchSession(
    context,
    responseOutput(exchange.response),
    line,
    eventsResponseLine,
  );
  started.session = open;
  open.handle(firstRequest, exchange);
  drainRequests(open);
  await new Promise<void>((resolve) => exchange.response.once('close', () => resolve()));
  open.close();
}

function textOrBase64(name: string, value: ByteString): Record<string, string> {
  return isUtf8(bytesFromByteString(value))
    ? { [name]: utf8FromByteString(value) }
    : { [`${name}_base64`]: base64FromByteString(value) };
}

function restKeyValue(kv: KeyValue): Record<string, unknown> {
  return {
    ...textOrBase64('key', kv.key),
    ...textOrBase64('value', kv.value),
    create_revision: kv.createRevision,
    mod_revision: kv.modRevision,
    version: kv.version,
    ...(kv.lease === undefined || kv.lease === '0' ? {} : { lease: kv.lease }),
  };
}

/**
 * GET /v1/watch?prefix=|key=[&start_revision=][&prev_kv=true]: Server-Sent Events, one `change`
 * event per revision (`id` the revision, `data` its events), `compacted` if the history it needs
 * is gone. `Last-Event-ID` (sent by `EventSource` on reconnect) resumes after that revision.
 */
export async function restWatch(context: ApiContext, exchange: Exchange): Promise<void> {
  const params = exchange.url.searchParams;
  const prefix = params.get('prefix');
  const key = params.get('key');
  if ((prefix === null) === (key === null)) {
    throw badRequest('give exactly one of prefix or key', prefix === null ? 'key' : 'prefix');
  }
  const watched = prefix ?? key ?? '';
  const start = byteStringFromUtf8(watched);
  const rangeEnd = prefix === null ? '' : start === '' ? '\0' : prefixRangeEnd(start);
  const lastEventId = exchange.header('last-event-id');
  const startText = params.get('start_revision');
  let startRevision = 0;
  if (lastEventId !== undefined && lastEventId !== '') {
    if (!/^\d{1,15}$/.test(lastEventId)) throw badRequest('bad Last-Event-ID', 'Last-Event-ID');
    startRevision = Number(lastEventId) + 1;
  } else if (startText !== null) {
    if (!/^\d{1,15}$/.test(startText)) throw badRequest('bad start_revision', 'start_revision');
    startRevision = Number(startText);
  }
  const withPrevious = params.get('prev_kv') === 'true';
  const range = { key: start === '' ? '\0' : start, rangeEnd };
  context.auth.authorize(context.backend.auth, exchange, () => [{ access: 'read', ...range }]);
  await readBarrier(context);
  const hub = watchHubOf(context.backend.store);
  const stream = new WatchStream<0, string>(
    responseOutput(exchange.response),
    hub,
    (_id, message) => {
      if (message.kind === 'canceled') {
        setImmediate(() => stream.close());
        return [
          `event: compacted\ndata: ${JSON.stringify({ compact_revision: message.compactRevision })}\n\n`,
        ];
      }
      if (message.kind !== 'events') return [];
      const events = message.events.map((event) => ({
        type: event.type,
        ...(event.type === 'delete'
          ? { ...textOrBase64('key', event.kv.key), mod_revision: event.kv.modRevision }
          : restKeyValue(event.kv)),
        ...(event.prevKv === undefined ? {} : { prev_kv: restKeyValue(event.prevKv) }),
      }));
      return [
        `id: ${message.revision}\nevent: change\ndata: ${JSON.stringify({ revision: message.revision, events })}\n\n`,
      ];
    },
  );
  exchange.status = 200;
  exchange.response.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
  });
  // Tells the client the revision it is watching from (a comment, not an event).
  stream.write(
    `: watching from revision ${startRevision || context.backend.store.revision + 1}\n\n`,
  );
  stream.add(
    0,
    hub.watch(
      {
        ...range,
        startRevision,
        prevKv: withPrevious,
        noPut: false,
        noDelete: false,
        progressNotify: false,
      },
      stream.readable,
    ),
  );
  await new Promise<void>((resolve) => exchange.response.once('close', () => resolve()));
  stream.close();
}
