/**
 * Starts the HTTP API, and etcd's gRPC API on the same port, on a free loopback port over a
 * {@link DirectBackend}.
 */

import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createGrpcGateway } from '../../src/grpc/grpc-gateway.js';
import { serveGrpcOnSamePort } from '../../src/grpc/same-port.js';
import { apiHandlerFor, createApiContext, createHttpServer } from '../../src/http/http-api.js';
import type { HttpApiOptions, HttpServerOptions } from '../../src/http/http-api.js';
import { NodeMetrics } from '../../src/metrics/node-metrics.js';
import { DirectBackend } from './direct-backend.js';

export interface TestApi {
  backend: DirectBackend;
  baseUrl: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

export async function startTestApi(
  options: Partial<HttpApiOptions> & { server?: HttpServerOptions } = {},
): Promise<TestApi> {
  const backend = new DirectBackend();
  const context = createApiContext({
    backend,
    metrics: new NodeMetrics({ processMetrics: false }),
    operationTimeoutMs: 2000,
    version: '0.0.0-test',
    ...options,
  });
  const server = createHttpServer(apiHandlerFor(context), options.server);
  const grpc = createGrpcGateway(context);
  serveGrpcOnSamePort(server, grpc, context.limits.maxRequestBytes);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    backend,
    baseUrl: `http://127.0.0.1:${port}`,
    port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        grpc.close(0);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
