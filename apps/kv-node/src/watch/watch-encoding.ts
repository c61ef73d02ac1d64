/**
 * Watch events in etcd's JSON shapes, each encoded once however many watchers receive it.
 *
 * Why: a revision's events are shared by every watcher that selects them (see `watch-hub.ts`),
 * but each watcher's response carries its own `watch_id`. Building the whole response object and
 * stringifying it per watcher cost most of a delivery with a thousand watchers; instead each
 * event's JSON text is made once (remembered beside the event, which is immutable), the header's
 * once per revision, and a watcher's gateway line is spliced from those texts around its id.
 */

import type { HeaderSource, JsonBody } from '../http/etcd-json.js';
import { headerModel, responseHeader } from '../http/etcd-json.js';
import { protoJson } from '../http/proto-json.js';
import type { WatchEvent } from './watch-hub.js';

const eventMessage = protoJson('mvccpb.Event');
const watchResponse = protoJson('etcdserverpb.WatchResponse');

const eventBodies = new WeakMap<WatchEvent, JsonBody>();
const eventTexts = new WeakMap<WatchEvent, string>();

/** A `mvccpb.Event` in gateway JSON (a delete shows only its key and revisions, as etcd's). */
export function eventJson(event: WatchEvent): JsonBody {
  let body = eventBodies.get(event);
  if (body === undefined) {
    body = eventMessage.encode({
      type: event.type === 'delete' ? 'DELETE' : 'PUT',
      kv:
        event.type === 'delete'
          ? { ...event.kv, createRevision: 0, version: 0, value: '' }
          : event.kv,
      prevKv: event.prevKv,
    });
    eventBodies.set(event, body);
  }
  return body;
}

/** {@link eventJson} as JSON text. */
export function eventJsonText(event: WatchEvent): string {
  let text = eventTexts.get(event);
  if (text === undefined) {
    text = JSON.stringify(eventJson(event));
    eventTexts.set(event, text);
  }
  return text;
}

/** The last header encoded: the responses of one pass mostly share one. */
let lastHeader: { source: HeaderSource; revision: number; text: string } | undefined;

/** The JSON text of a response header for `revision` from `source`. */
export function headerJsonText(source: HeaderSource, revision: number): string {
  if (lastHeader?.source !== source || lastHeader.revision !== revision) {
    lastHeader = { source, revision, text: JSON.stringify(responseHeader(source, revision)) };
  }
  return lastHeader.text;
}

/** What a watch response with events is made of. */
export interface EventsResponse {
  header: HeaderSource;
  headerRevision: number;
  /** 0: omitted, as protobuf's JSON omits a zero `watch_id`. */
  watchId: number;
  events: readonly WatchEvent[];
  /** Whether more fragments of the same revision follow (etcd's `fragment`). */
  fragment: boolean;
}

/** The response as an object (for transports that encode it themselves, such as gRPC). */
export function eventsResponseJson(response: EventsResponse): JsonBody {
  const encoded = watchResponse.encode({
    header: headerModel(response.header, response.headerRevision),
    watchId: response.watchId,
    fragment: response.fragment,
  });
  // Each event's encoding is kept with the event (see above), so it is spliced in, not redone;
  // `events` comes after `watch_id` and before `fragment` in `WatchResponse`.
  const { header, watch_id: watchId, fragment } = encoded;
  return {
    header,
    ...(watchId === undefined ? {} : { watch_id: watchId }),
    events: response.events.map(eventJson),
    ...(fragment === undefined ? {} : { fragment }),
  };
}

/**
 * The gateway's line for the response, `{"result":{...}}` and a newline: the same text as
 * `JSON.stringify({ result: eventsResponseJson(response) })`, spliced from encoded parts.
 */
export function eventsResponseLine(response: EventsResponse): string {
  let line = `{"result":{"header":${headerJsonText(response.header, response.headerRevision)}`;
  if (response.watchId !== 0) line += `,"watch_id":"${response.watchId}"`;
  line += ',"events":[';
  const { events } = response;
  for (let index = 0; index < events.length; index++) {
    if (index > 0) line += ',';
    line += eventJsonText(events[index] as WatchEvent);
  }
  line += response.fragment ? '],"fragment":true}}\n' : ']}}\n';
  return line;
}
