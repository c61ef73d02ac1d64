/**
 * etcd's Lease service over gRPC: the same decoding, permission checks, replication (grant,
 * revoke) and leader queries (keep-alive, time-to-live) as the JSON gateway's `/v3/lease/*`
 * routes (`lease/lease-routes.ts`), which build the very response objects sent here.
 */

import type { ServerDuplexStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { ApiContext } from '../http/api-context.js';
import type { JsonBody } from '../http/etcd-json.js';
import {
  leaseGrantResponse,
  leaseKeepAliveResponse,
  leaseLeasesResponse,
  leaseRevokeResponse,
  leaseTimeToLiveResponse,
} from '../lease/lease-routes.js';
import { credentialsOf, statusOf, unary } from './grpc-call.js';

/**
 * Most keep-alive requests one stream holds waiting for their answer. Past it the stream stops
 * reading, so HTTP/2 flow control holds a client that sends faster than the leader answers (or
 * than it reads the answers) instead of this member's memory.
 */
export const MAX_PENDING_KEEP_ALIVES = 16;

/** Resolves once `call` can take more writes, or has ended. */
function writable(call: ServerDuplexStream<unknown, JsonBody>): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      call.off('drain', done);
      call.off('close', done);
      call.off('cancelled', done);
      resolve();
    };
    call.on('drain', done);
    call.on('close', done);
    call.on('cancelled', done);
  });
}

/**
 * LeaseKeepAlive: one response per request, in order, each renewing the lease on the leader (an
 * unknown lease answers TTL 0, as etcd does). A failure (no leader, a malformed request, a
 * permission refused) ends the stream with etcd's status. The client half-closing ends the
 * stream once the requests already sent are answered.
 */
function keepAliveStream(
  context: ApiContext,
): (call: ServerDuplexStream<unknown, JsonBody>) => void {
  return (call) => {
    const credentials = credentialsOf(call);
    const pending: unknown[] = [];
    let answering = false;
    let clientDone = false;
    let finished = false;
    const finish = (): void => {
      finished = true;
      pending.length = 0;
    };
    call.on('cancelled', finish);
    call.on('close', finish);
    const answerPending = async (): Promise<void> => {
      answering = true;
      try {
        for (let request = pending.shift(); request !== undefined; request = pending.shift()) {
          if (call.isPaused() && pending.length < MAX_PENDING_KEEP_ALIVES / 2) call.resume();
          const response = await leaseKeepAliveResponse(context, request, credentials);
          if (finished) return;
          if (!call.write(response)) await writable(call);
          if (finished) return;
        }
        if (clientDone) {
          finished = true;
          call.end();
        }
      } catch (error) {
        if (finished) return;
        finish();
        call.emit('error', statusOf(context, error, call.getPath()));
      } finally {
        answering = false;
      }
    };
    call.on('data', (request: unknown) => {
      if (finished) return;
      pending.push(request);
      if (pending.length >= MAX_PENDING_KEEP_ALIVES) call.pause();
      if (!answering) void answerPending();
    });
    call.on('end', () => {
      clientDone = true;
      if (!answering && !finished) void answerPending();
    });
  };
}

/** The handlers of `etcdserverpb.Lease`. */
export function leaseService(context: ApiContext): UntypedServiceImplementation {
  return {
    LeaseGrant: unary(context, (body, credentials) =>
      leaseGrantResponse(context, body, credentials),
    ),
    LeaseRevoke: unary(context, (body, credentials) =>
      leaseRevokeResponse(context, body, credentials),
    ),
    LeaseKeepAlive: keepAliveStream(context),
    LeaseTimeToLive: unary(context, (body, credentials) =>
      leaseTimeToLiveResponse(context, body, credentials),
    ),
    LeaseLeases: unary(context, (body, credentials) =>
      leaseLeasesResponse(context, body, credentials),
    ),
  };
}
