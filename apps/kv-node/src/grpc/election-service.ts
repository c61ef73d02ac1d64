/**
 * etcd's `v3electionpb.Election` service, run on the server as etcd's `concurrency.Election` runs
 * in a client (`contention.ts`): Campaign enters the line for the election under the caller's
 * lease and answers once first in it (the leader); Proclaim changes the leader's value while its
 * key still has its create revision; Leader answers the first-created key; Observe streams each
 * new leader or value; Resign deletes the leader's key, so the next in line leads.
 */

import type { ServerWritableStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { ApiContext } from '../http/api-context.js';
import type { JsonBody } from '../http/etcd-json.js';
import type { ContentionContext, GatewayKv } from './contention.js';
import {
  contenderKey,
  enterLine,
  fromBase64,
  leaveLine,
  recipeStatus,
  requiredLease,
  toBase64,
  waitForTurn,
} from './contention.js';
import { grpcError } from './grpc-errors.js';
import { statusOf } from './grpc-call.js';
import type { KvMethods } from './kv-service.js';
import { contending, contentionOf } from './lock-service.js';

/** etcd's `concurrency` errors, as its election server passes them on. */
const NOT_LEADER = 'election: not leader';
const NO_LEADER = 'election: no leader';

/** A `LeaderKey` in the gateway's shapes. */
interface LeaderKey {
  name?: string;
  key?: string;
  rev?: string;
  lease?: string;
}

/** The first key after every key that starts with `prefix` (bytes as latin1). */
function prefixEnd(prefix: string): string {
  for (let index = prefix.length - 1; index >= 0; index--) {
    const code = prefix.charCodeAt(index);
    if (code < 0xff) return prefix.slice(0, index) + String.fromCharCode(code + 1);
  }
  return '\0';
}

/** The election's current leader: its first-created key, with the read's header. */
async function currentLeader(
  contention: ContentionContext,
  nameBase64: string,
  serializable: boolean,
): Promise<{ header: JsonBody; kv: GatewayKv | undefined }> {
  const prefix = `${fromBase64(nameBase64)}/`;
  const response = await contention.kv.Range(
    {
      key: toBase64(prefix),
      range_end: toBase64(prefixEnd(prefix)),
      sort_order: 'ASCEND',
      sort_target: 'CREATE',
      limit: '1',
      ...(serializable ? { serializable: true } : {}),
    },
    contention.credentials,
  );
  return {
    header: response.header as JsonBody,
    kv: (response.kvs as GatewayKv[] | undefined)?.[0],
  };
}

/** Campaign: enters the line for the election and answers once it leads (see the file comment). */
export async function campaign(request: unknown, contention: ContentionContext): Promise<JsonBody> {
  const {
    name = '',
    lease,
    value = '',
  } = request as {
    name?: string;
    lease?: unknown;
    value?: string;
  };
  const held = requiredLease(lease, 'Campaign');
  const key = contenderKey(name, held);
  let contender = await enterLine(contention, key, held, value);
  try {
    if (contender.value !== value) {
      // The same session campaigning again with another value: etcd proclaims the new one.
      await proclaim(
        {
          leader: { key: toBase64(key), rev: String(contender.createRevision), lease: held },
          value,
        },
        contention,
      );
      contender = { ...contender, value };
    }
    const header = await waitForTurn(contention, name, contender);
    const leader: LeaderKey = {
      name,
      key: toBase64(key),
      rev: String(contender.createRevision),
      lease: held,
    };
    return { header, leader };
  } catch (error) {
    if (contention.cancelled()) await leaveLine(contention, key).catch(() => undefined);
    throw error;
  }
}

/** Puts `value` in the leader's key if it still has the leader's create revision. */
export async function proclaim(request: unknown, contention: ContentionContext): Promise<JsonBody> {
  const { leader = {}, value = '' } = request as { leader?: LeaderKey; value?: string };
  const response = await contention.kv.Txn(
    {
      compare: [
        {
          target: 'CREATE',
          result: 'EQUAL',
          key: leader.key ?? '',
          create_revision: leader.rev ?? '0',
        },
      ],
      success: [{ request_put: { key: leader.key ?? '', value, lease: leader.lease ?? '0' } }],
      failure: [],
    },
    contention.credentials,
  );
  if (response.succeeded !== true) throw grpcError(GrpcStatus.UNKNOWN, NOT_LEADER);
  return { header: response.header };
}

/** Deletes the leader's key if it still has the leader's create revision (else nothing). */
export async function resign(request: unknown, contention: ContentionContext): Promise<JsonBody> {
  const { leader = {} } = request as { leader?: LeaderKey };
  const response = await contention.kv.Txn(
    {
      compare: [
        {
          target: 'CREATE',
          result: 'EQUAL',
          key: leader.key ?? '',
          create_revision: leader.rev ?? '0',
        },
      ],
      success: [{ request_delete_range: { key: leader.key ?? '' } }],
      failure: [],
    },
    contention.credentials,
  );
  return { header: response.header };
}

/** Leader: the election's current leader's key-value, linearizably; UNKNOWN without one. */
export async function leader(request: unknown, contention: ContentionContext): Promise<JsonBody> {
  const { name = '' } = request as { name?: string };
  const { header, kv: current } = await currentLeader(contention, name, false);
  if (current === undefined) throw grpcError(GrpcStatus.UNKNOWN, NO_LEADER);
  return { header, kv: current };
}

/** Where {@link observeLeader} sends what it sees. */
export interface LeaderObserver {
  /** Sends one `LeaderResponse`; resolves once the client can take more. */
  send(response: JsonBody): Promise<void>;
  /** Ends the stream with `error` (a status error or an ApiError). */
  fail(error: unknown): void;
}

/**
 * Observe: sends the leader's key-value now (if there is a leader) and again each time the
 * leader or its value changes, read from this member's applied state after each change. Sends
 * wait for the client to read; changes that come meanwhile fold into one look at the state.
 * Shared by the gRPC stream and the JSON gateway's `/v3/election/observe`.
 *
 * @returns a stop function: the stream ended (the caller went away).
 */
export function observeLeader(
  contention: ContentionContext,
  name: string,
  observer: LeaderObserver,
): () => void {
  const store = contention.context.backend.store;
  let ended = false;
  let looking = false;
  let lookAgain = false;
  let lastSent = '';
  // Called while the store applies: the look itself waits for a microtask, after the apply.
  const stopListening = store.onChange(() => {
    if (looking) lookAgain = true;
    else queueMicrotask(() => void look(true));
  });
  const end = (): void => {
    ended = true;
    stopListening();
  };
  const look = async (serializable: boolean): Promise<void> => {
    if (looking) {
      lookAgain = true;
      return;
    }
    looking = true;
    try {
      do {
        lookAgain = false;
        const { header, kv: current } = await currentLeader(contention, name, serializable);
        if (ended) return;
        const seen =
          current === undefined ? '' : `${current.key ?? ''}@${current.mod_revision ?? ''}`;
        if (current !== undefined && seen !== lastSent) {
          lastSent = seen;
          await observer.send({ header, kv: current });
        }
      } while (lookAgain && !ended);
    } catch (error) {
      if (ended) return;
      end();
      observer.fail(error);
    } finally {
      looking = false;
    }
  };
  // The first look is linearizable (and checks the caller may read the election).
  void look(false);
  return end;
}

function observe(
  context: ApiContext,
  kv: KvMethods,
): (call: ServerWritableStream<unknown, JsonBody>) => void {
  return (call) => {
    const contention = contentionOf(context, kv, call);
    const { name = '' } = call.request as { name?: string };
    const end = observeLeader(contention, name, {
      send: async (response) => {
        if (call.write(response)) return;
        await new Promise<void>((resolve) => {
          call.once('drain', resolve);
          call.once('cancelled', resolve);
        });
      },
      fail: (error) => call.emit('error', statusOf(context, recipeStatus(error), call.getPath())),
    });
    call.on('cancelled', end);
    call.on('close', end);
  };
}

/** The handlers of `v3electionpb.Election`. */
export function electionService(context: ApiContext, kv: KvMethods): UntypedServiceImplementation {
  return {
    Campaign: contending(context, kv, campaign),
    Proclaim: contending(context, kv, proclaim),
    Leader: contending(context, kv, leader),
    Observe: observe(context, kv),
    Resign: contending(context, kv, resign),
  };
}
