/**
 * A stand-alone HTTP server for the dashboard, for a process that serves no other API: the local
 * cluster launcher, whose dashboard must outlive any member it kills.
 */

import type { Server } from 'node:http';
import { createServer } from 'node:http';
import type { DashboardOptions } from './dashboard-handler.js';
import { createDashboardHandler } from './dashboard-handler.js';
import { HostAllowlist } from '../http/host-allowlist.js';

/** Options of {@link startDashboardServer}. */
export interface DashboardServerOptions extends DashboardOptions {
  /** Host to listen on (default `127.0.0.1`: the demo actions must not be reachable from afar). */
  host?: string;
  /** Port to listen on; 0 picks a free one. */
  port: number;
}

/** A running dashboard server. */
export interface RunningDashboardServer {
  /** The page's URL, e.g. `http://127.0.0.1:2378/ui/`. */
  url: string;
  /** The port listened on. */
  port: number;
  /** Ends the event streams and closes the server. */
  close(): Promise<void>;
}

/**
 * Serves the dashboard at `/ui/` (and redirects `/` there).
 *
 * @throws the listen error (e.g. `EADDRINUSE`) as the returned promise's rejection.
 */
export async function startDashboardServer(
  options: DashboardServerOptions,
): Promise<RunningDashboardServer> {
  const host = options.host ?? '127.0.0.1';
  const dashboard = createDashboardHandler(options);
  const hosts =
    options.allowedHosts === undefined
      ? HostAllowlist.loopback()
      : HostAllowlist.of(options.allowedHosts);
  const server: Server = createServer((request, response) => {
    if (hosts.refuse(request, response)) return;
    if (dashboard.handle(request, response)) return;
    if (request.url === '/' || request.url === '') {
      response.writeHead(302, { location: '/ui/' });
      response.end();
      return;
    }
    response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    response.end('the dashboard is at /ui/\n');
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    dashboard.close();
    throw error;
  }
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}/ui/`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        dashboard.close();
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
