/**
 * The same gRPC calls sent to a real etcd 3.4 (when `etcd` is installed, e.g. Debian's
 * etcd-server) and to kv-node must get identical answers, ids aside: Watch streams (created,
 * events with prev_kv and filters, refusals, cancels, progress, a compacted start), Lease calls
 * and the keep-alive stream, Compact and Alarm. Both start empty, so revisions line up. Skipped
 * without etcd.
 */

import { Metadata, credentials, makeGenericClientConstructor } from '@grpc/grpc-js';
import type { ClientDuplexStream, ServiceDefinition, ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { etcdServices } from '../src/grpc/etcd-proto.js';
import type { TestApi } from './support/api-server.js';
import { startTestApi } from './support/api-server.js';
import { etcdPresent } from './support/etcd-binaries.js';
import type { RealEtcd } from './support/real-etcd.js';
import { startRealEtcd } from './support/real-etcd.js';

const b = (text: string): string => Buffer.from(text).toString('base64');

type Message = Record<string, unknown>;
type Unary = (
  request: unknown,
  metadata: Metadata,
  callback: (error: ServiceError | null, response?: Message) => void,
) => void;
type Duplex = (metadata: Metadata) => ClientDuplexStream<unknown, Message>;

/** Calls and streams of etcd's services at `address` (`host:port`). */
function clientsOf(address: string) {
  const services = etcdServices();
  const open = (service: ServiceDefinition, name: string) => {
    const Client = makeGenericClientConstructor(service, name);
    return new Client(address, credentials.createInsecure());
  };
  const clients = {
    KV: open(services.kv, 'KV'),
    Watch: open(services.watch, 'Watch'),
    Lease: open(services.lease, 'Lease'),
    Maintenance: open(services.maintenance, 'Maintenance'),
  };
  const methodOf = (service: keyof typeof clients, method: string) => {
    const client = clients[service];
    const bound = (client as unknown as Record<string, Unary & Duplex>)[method] as Unary & Duplex;
    return { client, bound };
  };
  return {
    /** A unary call's answer: the response, or the status (code and details) it failed with. */
    call: (service: keyof typeof clients, method: string, request: unknown): Promise<unknown> =>
      new Promise((resolve) => {
        const { client, bound } = methodOf(service, method);
        (bound as Unary).call(client, request, new Metadata(), (error, response) =>
          resolve(error === null ? response : { code: error.code, details: error.details }),
        );
      }),
    stream: (service: keyof typeof clients, method: string) => {
      const { client, bound } = methodOf(service, method);
      return (bound as Duplex).call(client, new Metadata());
    },
    close: () => {
      for (const client of Object.values(clients)) client.close();
    },
  };
}

/** Takes a stream's messages one at a time, in order. */
function readerOf(stream: ClientDuplexStream<unknown, Message>): () => Promise<Message> {
  const buffered: Message[] = [];
  const waiters: ((message: Message) => void)[] = [];
  stream.on('data', (message: Message) => {
    const waiter = waiters.shift();
    if (waiter === undefined) buffered.push(message);
    else waiter(message);
  });
  stream.on('error', () => undefined);
  return () => {
    const message = buffered.shift();
    if (message !== undefined) return Promise.resolve(message);
    return new Promise((resolve) => waiters.push(resolve));
  };
}

/** Drops what differs by design (ids, term). */
function comparable(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value, (key, field: unknown) =>
      ['cluster_id', 'member_id', 'raft_term', 'memberID'].includes(key) ? undefined : field,
    ),
  ) as unknown;
}

/** Watch streams: the requests each sends in turn, and how many answers each must get. */
const watchStreams: { requests: unknown[]; answers: number }[] = [
  { requests: [{ create_request: { key: b('w'), range_end: b('x'), prev_kv: true } }], answers: 4 },
  {
    requests: [{ create_request: { key: b('w'), filters: ['NOPUT'], watch_id: '7' } }],
    answers: 2,
  },
  {
    requests: [{ create_request: { key: b('w'), range_end: b('x'), filters: ['NODELETE'] } }],
    answers: 3,
  },
  { requests: [{ create_request: { key: b('w'), range_end: b('w') } }], answers: 1 },
  {
    requests: [
      { create_request: { key: b('a'), watch_id: '3' } },
      { create_request: { key: b('b'), watch_id: '3' } },
      { cancel_request: { watch_id: '3' } },
      { cancel_request: { watch_id: '99' } },
      { progress_request: {} },
    ],
    answers: 4,
  },
];

let etcd: RealEtcd | undefined;
let etcdAddress: string;
let api: TestApi;

describe.skipIf(!etcdPresent)(
  'gRPC answers identical to a real etcd 3.4',
  { timeout: 60_000 },
  () => {
    beforeAll(async () => {
      etcd = await startRealEtcd();
      etcdAddress = etcd.address;
      api = await startTestApi();
    });

    afterAll(async () => {
      await etcd?.stop();
      await api?.close();
    });

    it('Watch: created, events, filters, prev_kv, refusals, cancels, a compacted start', async () => {
      const transcripts: unknown[] = [];
      for (const address of [etcdAddress, `127.0.0.1:${api.port}`]) {
        const clients = clientsOf(address);
        try {
          const streams = watchStreams.map(() => clients.stream('Watch', 'Watch'));
          const readers = streams.map(readerOf);
          const answers: Message[][] = watchStreams.map(() => []);
          // Each create is answered before any write, so every watch starts at the same revision.
          for (const [index, { requests }] of watchStreams.entries()) {
            for (const request of requests) streams[index]?.write(request);
            // Every request but the cancel of an unknown id is answered before any write.
            const first = requests.filter(
              (request) => !JSON.stringify(request).includes('"watch_id":"99"'),
            );
            for (let count = 0; count < first.length; count++) {
              answers[index]?.push(await (readers[index] as () => Promise<Message>)());
            }
          }
          await clients.call('KV', 'Put', { key: b('w'), value: b('1') });
          await clients.call('KV', 'Put', { key: b('w'), value: b('2') });
          await clients.call('KV', 'Txn', {
            success: [
              { request_put: { key: b('w1'), value: b('1') } },
              { request_delete_range: { key: b('w') } },
            ],
          });
          for (const [index, { answers: expected }] of watchStreams.entries()) {
            while ((answers[index] as Message[]).length < expected) {
              answers[index]?.push(await (readers[index] as () => Promise<Message>)());
            }
            streams[index]?.cancel();
          }
          // A watch from a compacted revision is cancelled with the compact revision.
          const compacted = await clients.call('KV', 'Compact', { revision: '3' });
          const late = clients.stream('Watch', 'Watch');
          const lateReader = readerOf(late);
          late.write({ create_request: { key: b('w'), start_revision: '2' } });
          const lateAnswers = [await lateReader(), await lateReader()];
          late.cancel();
          transcripts.push(comparable({ answers, compacted, lateAnswers }));
        } finally {
          clients.close();
        }
      }
      expect(transcripts[1]).toEqual(transcripts[0]);
    });

    it('Lease: grant, errors, time-to-live with keys, the keep-alive stream, leases, revoke', async () => {
      const transcripts: unknown[] = [];
      for (const address of [etcdAddress, `127.0.0.1:${api.port}`]) {
        const clients = clientsOf(address);
        try {
          const answers: unknown[] = [];
          const call = async (service: 'KV' | 'Lease', method: string, request: unknown) => {
            answers.push([method, await clients.call(service, method, request)]);
          };
          await call('Lease', 'LeaseGrant', { ID: '7001', TTL: '60' });
          await call('Lease', 'LeaseGrant', { ID: '7001', TTL: '60' });
          await call('Lease', 'LeaseGrant', { ID: '7002', TTL: '9000000001' });
          // A watch of the leased key: its events carry the lease (the delete's prev_kv too).
          const watch = clients.stream('Watch', 'Watch');
          const nextWatched = readerOf(watch);
          watch.write({ create_request: { key: b('leased'), prev_kv: true } });
          const watched = [await nextWatched()];
          await call('KV', 'Put', { key: b('leased'), value: b('v'), lease: '7001' });
          await call('KV', 'Put', { key: b('unleased'), value: b('v'), lease: '7003' });
          // Comparisons of a key's LEASE: equal, a missing key's (0), over a range.
          await call('KV', 'Txn', {
            compare: [{ key: b('leased'), target: 'LEASE', result: 'EQUAL', lease: '7001' }],
            success: [{ request_range: { key: b('leased') } }],
          });
          await call('KV', 'Txn', {
            compare: [{ key: b('unleased'), target: 'LEASE', result: 'GREATER', lease: '0' }],
          });
          await call('KV', 'Txn', {
            compare: [
              { key: b('le'), range_end: b('lf'), target: 'LEASE', result: 'LESS', lease: '7002' },
            ],
          });
          // Kept alive first: the test backend's lease clock starts the lease afresh on its first
          // query (as a new leader does, with an election timeout more), a keep-alive resets it.
          const keepAlive = clients.stream('Lease', 'LeaseKeepAlive');
          const next = readerOf(keepAlive);
          keepAlive.write({ ID: '7001' });
          keepAlive.write({ ID: '7003' });
          answers.push(['LeaseKeepAlive', await next(), await next()]);
          keepAlive.cancel();
          await call('Lease', 'LeaseTimeToLive', { ID: '7001', keys: true });
          await call('Lease', 'LeaseTimeToLive', { ID: '7003' });
          await call('Lease', 'LeaseLeases', {});
          await call('Lease', 'LeaseRevoke', { ID: '7001' });
          await call('Lease', 'LeaseRevoke', { ID: '7001' });
          watched.push(await nextWatched(), await nextWatched());
          watch.cancel();
          answers.push(['Watch', ...watched]);
          await call('KV', 'Range', { key: b('leased') });
          await call('KV', 'Compact', { revision: '1' });
          await call('KV', 'Compact', { revision: '999' });
          answers.push(['Alarm', await clients.call('Maintenance', 'Alarm', { action: 'GET' })]);
          transcripts.push(comparable(answers));
        } finally {
          clients.close();
        }
      }
      // The TTL a lease has left may be a second apart between the two.
      const remaining = (transcript: unknown[]): unknown =>
        JSON.parse(
          JSON.stringify(transcript).replace(/"TTL":"(58|59|60)"/g, '"TTL":"about 60"'),
        ) as unknown;
      expect(remaining(transcripts[1] as unknown[])).toEqual(
        remaining(transcripts[0] as unknown[]),
      );
    });
  },
);
