/**
 * kv-node's gRPC server: etcd's services on connections handed over from the client port
 * (`same-port.ts`), with no port of its own, bounded like the HTTP API.
 */

import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { ServiceDefinition } from '@grpc/grpc-js';
import type { GrpcMethodShape } from '../metrics/grpc-server-metrics.js';
import type { ApiContext } from '../http/api-context.js';
import { clusterService } from './cluster-service.js';
import { etcdServices } from './etcd-proto.js';
import { kvMethods, kvService } from './kv-service.js';
import { lockService } from './lock-service.js';
import { electionService } from './election-service.js';
import { maintenanceService } from './maintenance-service.js';
import { leaseService } from './lease-service.js';
import { authService } from './auth-service.js';
import { watchService } from './watch-service.js';
import { GrpcServer } from './server/grpc-server.js';

/**
 * Most concurrent streams (calls) on one connection. etcd sets no bound; one keeps what a single
 * connection can hold in flight (each call may buffer a request up to the request size limit)
 * finite. Well-behaved HTTP/2 clients queue calls beyond it.
 */
export const MAX_CONCURRENT_STREAMS = 1024;

/** Accepts HTTP/2 connections (already told apart from HTTP/1.1) and serves gRPC on them. */
export interface GrpcGateway {
  /**
   * Serves gRPC on `connection` (plain, or TLS already negotiated with ALPN `h2`); `tlsSocket`
   * is the TLS socket under it, when it is TLS (the client certificate is read from it).
   */
  injectConnection(connection: Duplex, tlsSocket?: TLSSocket): void;
  /** Asks clients to go away and closes every connection after `graceMs`. */
  close(graceMs: number): void;
}

/** Builds the gRPC server over `context`, the same one the HTTP routes use. */
export function createGrpcGateway(context: ApiContext): GrpcGateway {
  const server = new GrpcServer({
    // A request over the limit is refused with RESOURCE_EXHAUSTED before it is read.
    maxReceiveMessageBytes: context.limits.maxRequestBytes,
    maxConcurrentStreams: MAX_CONCURRENT_STREAMS,
    // go-grpc-prometheus's series (grpc_server_*), as etcd exports them, for every call.
    recorder: (method) => context.metrics.grpc.recorder(method),
  });
  const services = etcdServices();
  context.metrics.grpc.initialize(
    Object.values(services).flatMap((service: ServiceDefinition) =>
      Object.values(service as Record<string, GrpcMethodShape>),
    ),
  );
  server.addService(services.kv, kvService(context));
  server.addService(services.watch, watchService(context));
  server.addService(services.lease, leaseService(context));
  server.addService(services.cluster, clusterService(context));
  server.addService(services.maintenance, maintenanceService(context));
  server.addService(services.auth, authService(context));
  server.addService(services.lock, lockService(context, kvMethods(context)));
  server.addService(services.election, electionService(context, kvMethods(context)));
  // TLS, when the port has it, is terminated by the HTTP server before the hand-over.
  return {
    injectConnection: (connection, tlsSocket) => server.injectConnection(connection, tlsSocket),
    close: (graceMs) => {
      server.drain();
      setTimeout(() => server.destroy(), graceMs).unref();
    },
  };
}
