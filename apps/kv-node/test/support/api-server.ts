/** Starts the HTTP API on a free loopback port over a {@link DirectBackend}. */

import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApiHandler, createHttpServer } from '../../src/http/http-api.js';
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
  const handler = createApiHandler({
    backend,
    metrics: new NodeMetrics({ processMetrics: false }),
    operationTimeoutMs: 2000,
    version: '0.0.0-test',
    ...options,
  });
  const server = createHttpServer(handler, options.server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    backend,
    baseUrl: `http://127.0.0.1:${port}`,
    port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
