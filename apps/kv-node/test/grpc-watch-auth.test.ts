/**
 * Watch and Lease over gRPC with auth enabled (in process): a watch on keys the user may read is
 * created and gets events; one on keys it may not read, or with no token, is answered created and
 * cancelled with etcd's "etcdserver: permission denied" and the stream goes on; a lease call
 * without a user is refused with etcd's message.
 */

import { Metadata, credentials, makeGenericClientConstructor, status } from '@grpc/grpc-js';
import type { ClientDuplexStream, ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { etcdServices } from '../src/grpc/etcd-proto.js';
import type { TestApi } from './support/api-server.js';
import { startTestApi } from './support/api-server.js';

const b = (text: string): string => Buffer.from(text).toString('base64');

let api: TestApi;

async function ok(path: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${api.baseUrl}${path}`, {
    method: 'POST',
    body: JSON.stringify(body),
  });
  const answer = (await response.json()) as Record<string, unknown>;
  expect({ path, status: response.status }).toEqual({ path, status: 200 });
  return answer;
}

function metadataWith(token?: string): Metadata {
  const metadata = new Metadata();
  if (token !== undefined) metadata.set('token', token);
  return metadata;
}

type Message = Record<string, unknown>;

/** A Watch stream with `token` (if any) and a reader of its messages in order. */
function openWatch(token?: string) {
  const Client = makeGenericClientConstructor(etcdServices().watch, 'Watch');
  const client = new Client(`127.0.0.1:${api.port}`, credentials.createInsecure());
  const open = (
    client as unknown as Record<string, (m: Metadata) => ClientDuplexStream<unknown, Message>>
  ).Watch as (m: Metadata) => ClientDuplexStream<unknown, Message>;
  const stream = open.call(client, metadataWith(token));
  const buffered: Message[] = [];
  const waiters: ((message: Message) => void)[] = [];
  stream.on('data', (message: Message) => {
    const waiter = waiters.shift();
    if (waiter === undefined) buffered.push(message);
    else waiter(message);
  });
  stream.on('error', () => undefined);
  return {
    stream,
    next: (): Promise<Message> => {
      const message = buffered.shift();
      if (message !== undefined) return Promise.resolve(message);
      return new Promise((resolve) => waiters.push(resolve));
    },
    close: () => {
      stream.cancel();
      client.close();
    },
  };
}

beforeAll(async () => {
  api = await startTestApi({
    auth: { tokenTtlMs: 60_000, scryptCost: 4, clientCertAuth: false, now: () => 1_000_000 },
  });
  await ok('/v3/auth/user/add', { name: 'root', password: 'root-pw' });
  await ok('/v3/auth/user/grant', { user: 'root', role: 'root' });
  await ok('/v3/auth/role/add', { name: 'app' });
  await ok('/v3/auth/role/grant', {
    name: 'app',
    perm: { permType: 'READWRITE', key: b('app/'), range_end: b('app0') },
  });
  await ok('/v3/auth/user/add', { name: 'alice', password: 'alice-pw' });
  await ok('/v3/auth/user/grant', { user: 'alice', role: 'app' });
  await ok('/v3/auth/enable', {});
});

afterAll(async () => {
  await api?.close();
});

describe('gRPC Watch and Lease with auth enabled', () => {
  it('refuses a watch the user may not read as created and cancelled; the stream goes on', async () => {
    const token = (await ok('/v3/auth/authenticate', { name: 'alice', password: 'alice-pw' }))
      .token as string;
    const watch = openWatch(token);
    try {
      watch.stream.write({ create_request: { key: b('secret'), watch_id: '4' } });
      expect(await watch.next()).toMatchObject({
        watch_id: '4',
        created: true,
        canceled: true,
        cancel_reason: 'etcdserver: permission denied',
      });
      watch.stream.write({ create_request: { key: b('app/'), range_end: b('app0') } });
      expect(await watch.next()).toMatchObject({ created: true });
      const put = await fetch(`${api.baseUrl}/v3/kv/put`, {
        method: 'POST',
        headers: { authorization: token },
        body: JSON.stringify({ key: b('app/1'), value: b('one') }),
      });
      expect(put.status).toBe(200);
      const event = await watch.next();
      expect((event.events as { kv: { key: string } }[])[0]?.kv.key).toBe(b('app/1'));
      expect(event.canceled).toBeUndefined();
    } finally {
      watch.close();
    }
  });

  it('refuses a watch without a token the same way, as etcd does', async () => {
    const watch = openWatch();
    try {
      watch.stream.write({ create_request: { key: b('app/1') } });
      expect(await watch.next()).toMatchObject({
        created: true,
        canceled: true,
        cancel_reason: 'etcdserver: permission denied',
      });
    } finally {
      watch.close();
    }
  });

  it('refuses a lease grant without a user', async () => {
    const Client = makeGenericClientConstructor(etcdServices().lease, 'Lease');
    const client = new Client(`127.0.0.1:${api.port}`, credentials.createInsecure());
    try {
      const error = await new Promise<ServiceError | null>((resolve) =>
        (
          client as unknown as Record<
            string,
            (r: unknown, m: Metadata, cb: (e: ServiceError | null) => void) => void
          >
        ).LeaseGrant?.call(client, { TTL: '10' }, new Metadata(), resolve),
      );
      expect(error).toMatchObject({
        code: status.INVALID_ARGUMENT,
        details: 'etcdserver: user name is empty',
      });
    } finally {
      client.close();
    }
  });
});
