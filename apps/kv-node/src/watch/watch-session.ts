/**
 * etcd's watch protocol on one stream, whatever carries it: create, cancel and progress requests
 * in, `WatchResponse`s out (created, events in revision order, cancelled with the compact
 * revision, progress), in the gateway's JSON shapes, which are also the gRPC service's decoded
 * messages (see `grpc/etcd-proto.ts`). The JSON gateway's `POST /v3/watch` and the gRPC Watch
 * service each wrap one of these around their transport; the watchers themselves live in the
 * hub (`watch-hub.ts`) with their bounded queues.
 */

import type { RequestCredentials } from '../auth/auth-gate.js';
import { rangeNeeds } from '../auth/request-permissions.js';
import type { ApiContext } from '../http/api-context.js';
import { ApiError, badRequest } from '../http/api-error.js';
import type { HeaderSource, JsonBody } from '../http/etcd-json.js';
import { headerModel } from '../http/etcd-json.js';
import type { DecodedMessage } from '../http/proto-json.js';
import { protoJson } from '../http/proto-json.js';
import { responseHeaderSource } from '../http/response-header-source.js';
import type { ByteString } from '../store/byte-string.js';
import { rangeRequest } from '../store/kv-types.js';
import type { EventsResponse } from './watch-encoding.js';
import { eventsResponseJson } from './watch-encoding.js';
import type { WatchEvent, WatchHub, WatchMessage, WatchRequest } from './watch-hub.js';
import { watchHubOf } from './watch-hub.js';
import type { WatchOutput } from './watch-stream.js';
import { WatchStream } from './watch-stream.js';

/** etcd's default interval of progress notifications (`--experimental-watch-progress-notify-interval`). */
export const DEFAULT_WATCH_PROGRESS_INTERVAL_MS = 10 * 60_000;
/** Most watchers one stream may hold (beyond it a create is cancelled with a reason). */
export const MAX_WATCHERS_PER_STREAM = 1000;

/** The watch request messages, from etcd's protos. */
const messages = {
  request: protoJson('etcdserverpb.WatchRequest'),
  create: protoJson('etcdserverpb.WatchCreateRequest'),
  cancel: protoJson('etcdserverpb.WatchCancelRequest'),
  progress: protoJson('etcdserverpb.WatchProgressRequest'),
  response: protoJson('etcdserverpb.WatchResponse'),
};

/** A revision or watch id: a safe non-negative number (an int64 in etcd's protos). */
function count(decoded: DecodedMessage, jsonName: string, path: string): number {
  const value = decoded[jsonName];
  if (typeof value !== 'number' || value < 0) {
    throw badRequest(`${path} must be a non-negative integer`, path);
  }
  return value;
}

/** A decoded `WatchCreateRequest`. */
export interface WatchCreate {
  request: WatchRequest;
  /** The id asked for; 0: assign one. */
  watchId: number;
  /** Whether a revision's events larger than the request limit may be split (etcd's `fragment`). */
  fragment: boolean;
}

/** A decoded `WatchRequest`: one of its three requests (or none, which etcd ignores). */
export type WatchStreamRequest =
  | { kind: 'create'; create: WatchCreate }
  | { kind: 'cancel'; watchId: number }
  | { kind: 'progress' }
  | { kind: 'none' };

function decodeCreate(value: unknown): WatchCreate {
  const decoded = messages.create.decode(value, 'create_request');
  const filters = decoded.filters as string[];
  return {
    request: {
      key: decoded.key as ByteString,
      rangeEnd: decoded.rangeEnd as ByteString,
      startRevision: count(decoded, 'startRevision', 'create_request.start_revision'),
      prevKv: decoded.prevKv as boolean,
      noPut: filters.includes('NOPUT'),
      noDelete: filters.includes('NODELETE'),
      progressNotify: decoded.progressNotify as boolean,
    },
    watchId: count(decoded, 'watchId', 'create_request.watch_id'),
    fragment: decoded.fragment as boolean,
  };
}

/**
 * Decodes a `WatchRequest` (gateway JSON, or a gRPC message decoded in the same shape).
 *
 * @throws ApiError (INVALID_ARGUMENT) for an unknown field or a malformed value.
 */
export function decodeWatchRequest(value: unknown): WatchStreamRequest {
  const decoded = messages.request.decode(value);
  if (decoded.createRequest !== undefined) {
    return { kind: 'create', create: decodeCreate(decoded.createRequest) };
  }
  if (decoded.cancelRequest !== undefined) {
    const cancel = messages.cancel.decode(decoded.cancelRequest, 'cancel_request');
    return { kind: 'cancel', watchId: count(cancel, 'watchId', 'cancel_request.watch_id') };
  }
  if (decoded.progressRequest === undefined) return { kind: 'none' };
  messages.progress.decode(decoded.progressRequest, 'progress_request');
  return { kind: 'progress' };
}

/** Roughly what an event costs on the wire: its keys and values plus the fixed fields. */
function eventBytes(event: WatchEvent): number {
  const kvBytes = (kv: { key: ByteString; value: ByteString }): number =>
    kv.key.length + kv.value.length + 40;
  return kvBytes(event.kv) + (event.prevKv === undefined ? 0 : kvBytes(event.prevKv));
}

/**
 * The events of one revision cut into fragments of about `maxBytes` each (at least one event per
 * fragment), as etcd's `sendFragments` does for a watch created with `fragment`.
 */
function fragmentsOf(events: readonly WatchEvent[], maxBytes: number): WatchEvent[][] {
  const fragments: WatchEvent[][] = [];
  let current: WatchEvent[] = [];
  let bytes = 0;
  for (const event of events) {
    const size = eventBytes(event);
    if (current.length > 0 && bytes + size >= maxBytes) {
      fragments.push(current);
      current = [];
      bytes = 0;
    }
    current.push(event);
    bytes += size;
  }
  if (current.length > 0) fragments.push(current);
  return fragments;
}

/** A range is empty when it has an end at or before its key (etcd cancels such a watch). */
function isEmptyRange(key: ByteString, rangeEnd: ByteString): boolean {
  return rangeEnd !== '' && rangeEnd !== '\0' && rangeEnd <= key;
}

/** One stream's watchers and etcd's protocol over them (see the module comment). */
export class WatchSession<Out> {
  readonly #context: ApiContext;
  readonly #hub: WatchHub;
  readonly #wrap: (response: JsonBody) => Out;
  readonly #eventsItem: (response: EventsResponse) => Out;
  readonly #stream: WatchStream<number, Out>;
  /** Watch ids that asked for fragments. */
  readonly #fragmented = new Set<number>();
  readonly #progressTimer: ReturnType<typeof setInterval>;
  #nextId = 0;
  #progressRequested = false;

  /**
   * @param output the transport the responses go to.
   * @param wrap a response object as the transport's item (a JSON line, a gRPC message).
   * @param eventsItem a response with events as the transport's item, from its parts (a
   *   transport that writes text splices pre-encoded events); default: `wrap` of the object.
   */
  constructor(
    context: ApiContext,
    output: WatchOutput<Out>,
    wrap: (response: JsonBody) => Out,
    eventsItem: (response: EventsResponse) => Out = (response) =>
      wrap(eventsResponseJson(response)),
  ) {
    this.#context = context;
    this.#hub = watchHubOf(context.backend.store);
    this.#wrap = wrap;
    this.#eventsItem = eventsItem;
    this.#stream = new WatchStream<number, Out>(
      output,
      this.#hub,
      (id, message) => this.#itemsOf(id, message),
      // etcd's responses may carry several revisions; a fragmented watch's revision goes alone.
      { coalesce: (id) => !this.#fragmented.has(id) },
    );
    this.#stream.onIdle(() => this.#answerProgressRequest());
    this.#progressTimer = setInterval(
      () => this.#notifyProgress(),
      context.watchProgressIntervalMs ?? DEFAULT_WATCH_PROGRESS_INTERVAL_MS,
    );
    this.#progressTimer.unref();
    output.onClose(() => this.close());
  }

  /** Whether the transport pushes back (a transport that can should stop reading requests). */
  get backpressured(): boolean {
    return this.#stream.backpressured;
  }

  /** Whether the session has ended. */
  get closed(): boolean {
    return this.#stream.closed;
  }

  /** Calls `listener` whenever everything queued has been written (see `WatchStream.onIdle`). */
  onIdle(listener: () => void): void {
    this.#stream.onIdle(listener);
  }

  /** Handles one decoded request of the client, as `credentials` may. */
  handle(request: WatchStreamRequest, credentials: RequestCredentials): void {
    if (this.closed) return;
    switch (request.kind) {
      case 'create':
        return this.#create(request.create, credentials);
      case 'cancel':
        return this.#cancel(request.watchId);
      case 'progress':
        this.#progressRequested = true;
        return this.#answerProgressRequest();
      case 'none':
        return;
    }
  }

  /** Cancels every watcher and ends the transport (an error line or status is the transport's). */
  close(): void {
    clearInterval(this.#progressTimer);
    this.#stream.close();
  }

  /** The member's identity now (an election changes its term). */
  get #headerSource(): HeaderSource {
    return responseHeaderSource(this.#context.backend);
  }

  /** A `WatchResponse` without events, from its fields (lowerCamel), with the header at `revision`. */
  #response(revision: number, fields: JsonBody = {}): Out {
    return this.#wrap(
      messages.response.encode({ header: headerModel(this.#headerSource, revision), ...fields }),
    );
  }

  #create(create: WatchCreate, credentials: RequestCredentials): void {
    const { request } = create;
    const current = this.#context.backend.store.revision;
    const refuse = (watchId: number, reason: string): void =>
      this.#stream.write(
        this.#response(current, { watchId, created: true, canceled: true, cancelReason: reason }),
      );
    try {
      this.#context.auth.authorize(this.#context.backend.auth, credentials, () =>
        rangeNeeds(rangeRequest(request.key, { rangeEnd: request.rangeEnd })),
      );
    } catch (error) {
      // etcd answers a watch it does not permit (no user, a bad token, no read permission) as
      // created and cancelled, always with this reason.
      if (error instanceof ApiError) return refuse(create.watchId, 'etcdserver: permission denied');
      throw error;
    }
    if (isEmptyRange(request.key, request.rangeEnd)) {
      return refuse(-1, 'mvcc: watcher range is empty');
    }
    const watchers = this.#stream.watchers;
    if (watchers.size >= MAX_WATCHERS_PER_STREAM) {
      return refuse(-1, `too many watchers on one stream (at most ${MAX_WATCHERS_PER_STREAM})`);
    }
    let id = create.watchId;
    if (id === 0) {
      while (watchers.has(this.#nextId)) this.#nextId++;
      id = this.#nextId++;
    } else if (watchers.has(id)) {
      return refuse(-1, 'mvcc: duplicate watch ID provided on the WatchStream');
    }
    if (create.fragment) this.#fragmented.add(id);
    else this.#fragmented.delete(id);
    this.#stream.write(this.#response(current, { watchId: id, created: true }));
    this.#stream.add(id, this.#hub.watch(request, this.#stream.readable));
  }

  #cancel(id: number): void {
    // etcd answers nothing for a watch id it does not know.
    if (!this.#stream.remove(id)) return;
    this.#fragmented.delete(id);
    this.#stream.write(
      this.#response(this.#context.backend.store.revision, { watchId: id, canceled: true }),
    );
  }

  /** Whether everything up to the store's revision has been written for every watcher. */
  #caughtUp(): boolean {
    if (this.#stream.backpressured) return false;
    for (const watcher of this.#stream.watchers.values()) {
      if (!watcher.synced || watcher.queued > 0) return false;
    }
    return true;
  }

  /**
   * A progress request is answered (watch id -1, for every watcher of the stream, as etcd 3.4
   * sends it) with the store's revision only once every watcher has been sent everything up to
   * it, so the answer never claims a revision whose events are still on their way.
   */
  #answerProgressRequest(): void {
    if (!this.#progressRequested || this.closed || !this.#caughtUp()) return;
    this.#progressRequested = false;
    this.#stream.write(this.#response(this.#context.backend.store.revision, { watchId: -1 }));
  }

  /** The periodic progress notification of each idle watcher that asked for it. */
  #notifyProgress(): void {
    if (this.#stream.backpressured) return;
    for (const [id, watcher] of this.#stream.watchers) {
      if (watcher.request.progressNotify && watcher.synced && watcher.queued === 0) {
        const revision = this.#context.backend.store.revision;
        this.#stream.write(this.#response(revision, { watchId: id }));
      }
    }
  }

  #itemsOf(id: number, message: WatchMessage): Out[] {
    switch (message.kind) {
      case 'events': {
        const header = this.#headerSource;
        const maxBytes = this.#context.limits.maxRequestBytes;
        const fragments = this.#fragmented.has(id)
          ? fragmentsOf(message.events, maxBytes)
          : [message.events];
        return fragments.map((events, index) =>
          this.#eventsItem({
            header,
            headerRevision: message.headerRevision,
            watchId: id,
            events,
            fragment: index < fragments.length - 1,
          }),
        );
      }
      case 'progress':
        return [this.#response(message.revision, { watchId: id })];
      case 'canceled':
        this.#fragmented.delete(id);
        return [
          // As etcd 3.4 sends it: a cancel for compaction has no revision in its header.
          this.#response(0, {
            watchId: id,
            canceled: true,
            compactRevision: message.compactRevision,
            cancelReason: message.reason,
          }),
        ];
    }
  }
}
