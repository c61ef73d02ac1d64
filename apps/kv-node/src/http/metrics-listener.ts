/**
 * What a `--listen-metrics-urls` listener serves: `/metrics` and `/health` only, as etcd's
 * metrics listener does, so Prometheus and health checks can reach a member on a port that does
 * not expose the key-value API.
 */

import type { RequestListener } from 'node:http';

/** The paths a metrics listener answers. */
export const METRICS_LISTENER_PATHS: ReadonlySet<string> = new Set(['/metrics', '/health']);

/** Wraps the member's handler: the metrics paths go to it, every other path gets 404. */
export function metricsOnlyHandler(handler: RequestListener): RequestListener {
  return (request, response) => {
    const path = new URL(request.url ?? '/', 'http://metrics.invalid').pathname;
    if (METRICS_LISTENER_PATHS.has(path)) {
      handler(request, response);
      return;
    }
    response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    response.end('404 page not found\n');
  };
}
