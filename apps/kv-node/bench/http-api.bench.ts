/**
 * HTTP layer benchmark: the API over a log that commits instantly (the test double), driven by
 * kv-bench in a separate process. Measures the cost of HTTP, JSON and the state machine alone,
 * the ceiling that replication then lowers. Output: one JSON object per workload on stdout.
 *
 * Build both first: this script expects dist-bench/kv-bench.js next to it.
 */

import { execFile } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createApiHandler, createHttpServer } from '../src/http/http-api.js';
import { NodeMetrics } from '../src/metrics/node-metrics.js';
import { DirectBackend } from '../test/support/direct-backend.js';

const run = promisify(execFile);
const seconds = process.env.SECONDS_PER_RUN ?? '5';
const server = createHttpServer(
  createApiHandler({ backend: new DirectBackend(), metrics: new NodeMetrics() }),
);
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const benchScript = fileURLToPath(new URL('./kv-bench.js', import.meta.url));
for (const [workload, clients] of [
  ['put', 64],
  ['put', 1],
  ['range', 64],
  ['range-serializable', 64],
  ['txn-cas', 64],
] as const) {
  const { stdout } = await run(process.execPath, [
    benchScript,
    '--endpoints',
    endpoint,
    '--workload',
    workload,
    '--clients',
    String(clients),
    '--duration',
    seconds,
  ]);
  console.log(JSON.stringify({ benchmark: 'http-api-instant-log', ...JSON.parse(stdout) }));
}
server.closeAllConnections();
server.close();
