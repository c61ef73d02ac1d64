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
import type { WatchEvent, WatchMessage, WatchRequest } from '../watch/watch-hub.js';
import { watchHubOf } from '../watch/watch-hub.js';
import type { ApiContext } from './api-context.js';
import { badRequest } from './api-error.js';
import { keyValueJson, responseHeader } from './etcd-json.js';
import type { Exchange } from './exchange.js';
import { FieldReader } from './json-fields.js';
import { JsonObjectStream } from './json-object-stream.js';
import { linearize } from './kv-operations.js';
import { responseHeaderSource } from './response-header-source.js';
import { WatchStream } from './watch-stream.js';
import { isUtf8 } from 'node:buffer';

/** etcd's default interval of progress notifications (`--experimental-watch-progress-notify-interval`). */
export const DEFAULT_WATCH_PROGRESS_INTERVAL_MS = 10 * 60_000;
/** Most watchers one stream may hold (beyond it a create is cancelled with a reason). */
export const MAX_WATCHERS_PER_STREAM = 1000;

const FILTERS = ['NOPUT', 'NODELETE'] as const;

interface DecodedCreate {
  request: WatchRequest;
  /** The id asked for; 0: assign one. */
  watchId: number;
}

function decodeCreate(value: unknown): DecodedCreate {
  const fields = new FieldReader(value, 'create_request');
  const key = fields.bytes('key');
  const rangeEnd = fields.bytes('range_end');
  const startRevision = fields.integer('start_revision');
  const progressNotify = fields.boolean('progress_notify');
  const prevKv = fields.boolean('prev_kv');
  const watchId = fields.integer('watch_id');
  fields.boolean('fragment');
  const filters = fields.array('filters').map((filter) => {
    const name = typeof filter === 'number' ? FILTERS[filter] : FILTERS.find((f) => f === filter);
    if (name === undefined) {
      throw badRequest(
        `unknown value ${JSON.stringify(filter)} for enum etcdserverpb.WatchCreateRequest_FilterType`,
        'create_request.filters',
      );
    }
    return name;
  });
  fields.rejectUnknown();
  return {
    request: {
      key,
      rangeEnd,
      startRevision,
      prevKv,
      noPut: filters.includes('NOPUT'),
      noDelete: filters.includes('NODELETE'),
      progressNotify,
    },
    watchId,
  };
}

function eventJson(event: WatchEvent): Record<string, unknown> {
  const kv =
    event.type === 'delete'
      ? keyValueJson({ ...event.kv, createRevision: 0, version: 0, value: '' })
      : keyValueJson(event.kv);
  return {
    ...(event.type === 'delete' ? { type: 'DELETE' } : {}),
    kv,
    ...(event.prevKv === undefined ? {} : { prev_kv: keyValueJson(event.prevKv) }),
  };
}

/** A range is empty when it has an end at or before its key (etcd cancels such a watch). */
function isEmptyRange(key: ByteString, rangeEnd: ByteString): boolean {
  return rangeEnd !== '' && rangeEnd !== '\0' && rangeEnd <= key;
}

/** POST /v3/watch: etcd 3.4's gateway watch stream. */
export async function v3Watch(context: ApiContext, exchange: Exchange): Promise<void> {
  const headerSource = responseHeaderSource(context.backend);
  const hub = watchHubOf(context.backend.store);
  const line = (result: Record<string, unknown>): string => `${JSON.stringify({ result })}\n`;
  const idJson = (id: number): Record<string, string> => (id === 0 ? {} : { watch_id: String(id) });
  const stream = new WatchStream<number>(exchange.response, hub, (id, message) =>
    line(resultOf(id, message)),
  );
  const resultOf = (id: number, message: WatchMessage): Record<string, unknown> => {
    switch (message.kind) {
      case 'events':
        return {
          header: responseHeader(headerSource, message.headerRevision),
          ...idJson(id),
          events: message.events.map(eventJson),
        };
      case 'progress':
        return { header: responseHeader(headerSource, message.revision), ...idJson(id) };
      case 'canceled':
        return {
          // As etcd 3.4 sends it: a cancel for compaction has no revision in its header.
          header: responseHeader(headerSource, 0),
          ...idJson(id),
          canceled: true,
          ...(message.compactRevision === undefined
            ? {}
            : { compact_revision: String(message.compactRevision) }),
          ...(message.reason === undefined ? {} : { cancel_reason: message.reason }),
        };
    }
  };
  let nextId = 0;
  const create = (decoded: DecodedCreate): void => {
    const { request } = decoded;
    context.auth.authorize(context.backend.auth, exchange, () =>
      rangeNeeds(rangeRequest(request.key, { rangeEnd: request.rangeEnd })),
    );
    const current = context.backend.store.revision;
    const refuse = (reason: string): void =>
      stream.write(
        line({
          header: responseHeader(headerSource, current),
          watch_id: '-1',
          created: true,
          canceled: true,
          cancel_reason: reason,
        }),
      );
    if (isEmptyRange(request.key, request.rangeEnd)) return refuse('mvcc: watcher range is empty');
    if (stream.watchers.size >= MAX_WATCHERS_PER_STREAM) {
      return refuse(`too many watchers on one stream (at most ${MAX_WATCHERS_PER_STREAM})`);
    }
    let id = decoded.watchId;
    if (id === 0) {
      while (stream.watchers.has(nextId)) nextId++;
      id = nextId++;
    } else if (stream.watchers.has(id)) {
      return refuse(`watch id ${id} is already in use on this stream`);
    }
    stream.write(
      line({ header: responseHeader(headerSource, current), ...idJson(id), created: true }),
    );
    stream.add(id, hub.watch(request, stream.readable));
  };
  const cancel = (value: unknown): void => {
    const fields = new FieldReader(value, 'cancel_request');
    const id = fields.integer('watch_id');
    fields.rejectUnknown();
    if (!stream.remove(id)) return;
    stream.write(
      line({
        header: responseHeader(headerSource, context.backend.store.revision),
        ...idJson(id),
        canceled: true,
      }),
    );
  };
  const parse = (text: string): { create?: DecodedCreate; cancel?: unknown } => {
    let value: unknown;
    try {
      value = JSON.parse(text) as unknown;
    } catch (error) {
      throw badRequest(`malformed JSON: ${(error as Error).message}`, 'body');
    }
    const fields = new FieldReader(value);
    const createRequest = fields.raw('create_request');
    const cancelRequest = fields.raw('cancel_request');
    fields.raw('progress_request');
    fields.rejectUnknown();
    if (createRequest !== undefined) return { create: decodeCreate(createRequest) };
    return cancelRequest === undefined ? {} : { cancel: cancelRequest };
  };
  const handle = (text: string): void => {
    const parsed = parse(text);
    if (parsed.create !== undefined) create(parsed.create);
    else if (parsed.cancel !== undefined) cancel(parsed.cancel);
  };
  // The first request decides the answer's status: a bad one is a plain 400.
  const requests = new JsonObjectStream(context.limits.maxRequestBytes);
  const pending: string[] = [];
  const request = exchange.request;
  request.setEncoding('utf8');
  let failed: Error | undefined;
  request.on('data', (chunk: string) => {
    try {
      pending.push(...requests.push(chunk));
    } catch (error) {
      failed = badRequest((error as Error).message, 'body');
    }
    if (exchange.response.headersSent && !stream.closed) drainRequests();
  });
  const drainRequests = (): void => {
    try {
      for (let text = pending.shift(); text !== undefined; text = pending.shift()) handle(text);
      if (failed !== undefined) throw failed;
    } catch (error) {
      // After the stream started, a bad request ends it (etcd's gateway does the same).
      stream.write(line({ error: (error as Error).message }));
      stream.close();
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
  const firstCreate = parse(first).create;
  if (firstCreate === undefined) throw badRequest('a watch needs a create_request', 'body');
  context.auth.authorize(context.backend.auth, exchange, () =>
    rangeNeeds(rangeRequest(firstCreate.request.key, { rangeEnd: firstCreate.request.rangeEnd })),
  );
  await linearize(context);
  exchange.status = 200;
  exchange.response.writeHead(200, { 'content-type': 'application/json' });
  handle(first);
  drainRequests();
  const progressTimer = setInterval(() => {
    for (const [id, watcher] of stream.watchers) {
      if (watcher.request.progressNotify && watcher.synced && watcher.queued === 0) {
        stream.write(
          line(resultOf(id, { kind: 'progress', revision: context.backend.store.revision })),
        );
      }
    }
  }, context.watchProgressIntervalMs ?? DEFAULT_WATCH_PROGRESS_INTERVAL_MS);
  await new Promise<void>((resolve) => exchange.response.once('close', () => resolve()));
  clearInterval(progressTimer);
  stream.close();
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
  await linearize(context);
  const hub = watchHubOf(context.backend.store);
  const stream = new WatchStream<0>(exchange.response, hub, (_id, message) => {
    if (message.kind === 'canceled') {
      setImmediate(() => stream.close());
      return `event: compacted\ndata: ${JSON.stringify({ compact_revision: message.compactRevision })}\n\n`;
    }
    if (message.kind !== 'events') return undefined;
    const events = message.events.map((event) => ({
      type: event.type,
      ...(event.type === 'delete'
        ? { ...textOrBase64('key', event.kv.key), mod_revision: event.kv.modRevision }
        : restKeyValue(event.kv)),
      ...(event.prevKv === undefined ? {} : { prev_kv: restKeyValue(event.prevKv) }),
    }));
    return `id: ${message.revision}\nevent: change\ndata: ${JSON.stringify({ revision: message.revision, events })}\n\n`;
  });
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
