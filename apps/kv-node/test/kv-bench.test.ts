/**
 * kv-bench drives the v3 API over JSON and gRPC: a short run of each workload against the
 * in-process API.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBench } from '../bench/kv-bench.js';
import type { TestApi } from './support/api-server.js';
import { startTestApi } from './support/api-server.js';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(async () => {
  await api.close();
});

describe('kv-bench', () => {
  for (const [workload, protocol] of [
    ['put', 'http'],
    ['range', 'http'],
    ['range-serializable', 'http'],
    ['txn-cas', 'http'],
    ['mixed', 'http'],
    ['put', 'grpc'],
    ['txn-cas', 'grpc'],
    ['mixed', 'grpc'],
  ] as const) {
    it(`runs the ${workload} workload over ${protocol} without errors`, async () => {
      const result = await runBench({
        endpoints: [api.baseUrl],
        protocol,
        workload,
        clients: 4,
        connections: 2,
        durationSeconds: 0.2,
        valueBytes: 100,
        keys: 50,
      });
      expect(result.errors).toBe(0);
      expect(result.requests).toBeGreaterThan(0);
      expect(result.latencyMs.p99).toBeGreaterThanOrEqual(result.latencyMs.p50);
    });
  }
});
