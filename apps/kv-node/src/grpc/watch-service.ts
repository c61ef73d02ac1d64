/**
 * etcd's Watch service over gRPC: the bidirectional stream, served by the same watch session as
 * the JSON gateway's `POST /v3/watch` (`watch/watch-session.ts`), so create, cancel, progress,
 * fragments, compaction and the per-watcher bounded queues behave alike on both.
 *
 * Memory stays bounded for a client that stops reading: responses are written only while
 * `call.write()` accepts them (then the watchers' queues fill, bounded, and their watchers fall
 * behind to catch up from history later), and requests are not read while the output is
 * backpressured, so HTTP/2 flow control holds the client's further requests.
 */

import type { ServerDuplexStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { ApiContext } from '../http/api-context.js';
import type { JsonBody } from '../http/etcd-json.js';
import { WatchSession, decodeWatchRequest } from '../watch/watch-session.js';
import type { WatchOutput } from '../watch/watch-stream.js';
import { credentialsOf, statusOf } from './grpc-call.js';

/** One Watch call, served until the client cancels it or its connection goes. */
function watchStream(context: ApiContext): (call: ServerDuplexStream<unknown, JsonBody>) => void {
  return (call) => {
    const credentials = credentialsOf(call);
    let finished = false;
    const output: WatchOutput<JsonBody> = {
      write: (response) => call.write(response),
      onDrain: (listener) => call.on('drain', listener),
      onClose: (listener) => {
        call.once('cancelled', listener);
        call.once('close', listener);
      },
      end: () => {
        if (finished) return;
        finished = true;
        if (!call.cancelled) call.end();
      },
    };
    const session = new WatchSession(context, output, (response) => response);
    session.onIdle(() => {
      if (call.isPaused() && !finished) call.resume();
    });
    call.on('data', (value: unknown) => {
      if (finished) return;
      try {
        session.handle(decodeWatchRequest(value), credentials);
      } catch (error) {
        finished = true;
        call.emit('error', statusOf(context, error, call.getPath()));
        session.close();
        return;
      }
      if (session.backpressured) call.pause();
    });
    // A client that half-closes keeps its watchers, as in etcd: the stream lasts until it
    // cancels the call.
  };
}

/** The handlers of `etcdserverpb.Watch`. */
export function watchService(context: ApiContext): UntypedServiceImplementation {
  return { Watch: watchStream(context) };
}
