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

  it('ranges over all the keys at once with range-keys, and counts the bytes answered', async () => {
    const result = await runBench({
      endpoints: [api.baseUrl],
      workload: 'range-keys',
      clients: 2,
      connections: 2,
      durationSeconds: 0.2,
      valueBytes: 100,
      keys: 50,
    });
    expect(result.errors).toBe(0);
    expect(result.requests).toBeGreaterThan(0);
    // 50 keys of 100 bytes, base64 in JSON: over 130 bytes of value alone each.
    expect(result.responseBytes).toBeGreaterThan(result.requests * 50 * 130);
  });

  it('counts a range-keys answer with another number of keys as an error', async () => {
    // The store holds the 50 keys the runs above wrote, not 40.
    const result = await runBench({
      endpoints: [api.baseUrl],
      workload: 'range-keys',
      clients: 1,
      connections: 1,
      durationSeconds: 0.1,
      valueBytes: 100,
      keys: 40,
      noFill: true,
    });
    expect(result.requests).toBe(0);
    expect(result.errors).toBeGreaterThan(0);
    expect(result.responseBytes).toBe(0);
  });
});
