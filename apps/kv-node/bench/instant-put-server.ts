/**
 * The server side the gRPC benches share: etcd's KV service (as kv-node loads it, `etcdServices`)
 * with a Put that answers at once, so a bench measures the transport and the server's own cost
 * per call and nothing of the store.
 */

import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { etcdServices } from '../src/grpc/etcd-proto.js';
import { GrpcServer } from '../src/grpc/server/grpc-server.js';

/** The fixed response header of {@link instantPut} (and of any other server a bench compares). */
export const INSTANT_PUT_HEADER = {
  revision: '5',
  cluster_id: '123',
  member_id: '456',
  raft_term: '2',
};

/** A KV service whose Put answers at once with a fixed header; for a grpc-js or kv-node server. */
export const instantPut: UntypedServiceImplementation = {
  Put: (_call: unknown, callback: (error: null, response: unknown) => void) =>
    callback(null, { header: INSTANT_PUT_HEADER }),
};

/**
 * kv-node's gRPC server (`src/grpc/server/`) serving {@link instantPut}, with no metrics recorded;
 * connections are handed to it with `injectConnection`.
 *
 * @param maxReceiveMessageBytes the largest message it accepts, in bytes.
 */
export function instantPutGrpcServer(maxReceiveMessageBytes: number): GrpcServer {
  const server = new GrpcServer({
    maxReceiveMessageBytes,
    maxConcurrentStreams: 1024,
    recorder: () => () => ({
      received: () => undefined,
      sent: () => undefined,
      finished: () => undefined,
    }),
  });
  server.addService(etcdServices().kv, instantPut);
  return server;
}
