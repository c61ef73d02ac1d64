/**
 * The gRPC LeaseKeepAlive stream over a stand-in for grpc-js's call: requests are answered one
 * at a time, in order; while the leader has not answered, at most MAX_PENDING_KEEP_ALIVES
 * requests wait before the stream stops reading (HTTP/2 flow control then holds the client), and
 * it reads again once they are answered; an unknown lease is answered with TTL 0 (no TTL field).
 */

import { EventEmitter } from 'node:events';
import { Metadata } from '@grpc/grpc-js';
import type { handleBidiStreamingCall } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { MAX_PENDING_KEEP_ALIVES, leaseService } from '../src/grpc/lease-service.js';
import type { JsonBody } from '../src/http/etcd-json.js';
import { createApiContext } from '../src/http/http-api.js';
import type { LeaseAnswer, LeaseQuery } from '../src/lease/lease-driver.js';
import { NodeMetrics } from '../src/metrics/node-metrics.js';
import { DirectBackend } from './support/direct-backend.js';

/** What the handler uses of a grpc-js duplex call, recording what it does. */
class FakeCall extends EventEmitter {
  readonly metadata = new Metadata();
  readonly written: JsonBody[] = [];
  paused = false;
  ended = false;
  cancelled = false;

  getAuthContext(): Record<string, never> {
    return {};
  }

  getPath(): string {
    return '/etcdserverpb.Lease/LeaseKeepAlive';
  }

  isPaused(): boolean {
    return this.paused;
  }

  pause(): this {
    this.paused = true;
    return this;
  }

  resume(): this {
    this.paused = false;
    return this;
  }

  write(response: JsonBody): boolean {
    this.written.push(response);
    return true;
  }

  end(): void {
    this.ended = true;
  }
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('the LeaseKeepAlive stream', () => {
  it('answers in order, holds a bounded number of requests, and reads again when answered', async () => {
    const backend = new DirectBackend();
    const context = createApiContext({
      backend,
      metrics: new NodeMetrics({ processMetrics: false }),
    });
    await backend.write({ type: 'lease', request: { op: 'grant', id: '5', ttlSeconds: 60 } });
    // The leader's answers wait until released, and the queries in flight are counted.
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    let inFlight = 0;
    let mostInFlight = 0;
    const answer = backend.leaseQuery.bind(backend);
    backend.leaseQuery = async (query: LeaseQuery): Promise<LeaseAnswer> => {
      inFlight++;
      mostInFlight = Math.max(mostInFlight, inFlight);
      await released;
      inFlight--;
      return answer(query);
    };
    const call = new FakeCall();
    const handler = leaseService(context).LeaseKeepAlive as handleBidiStreamingCall<
      unknown,
      JsonBody
    >;
    handler(call as unknown as Parameters<typeof handler>[0]);
    const ids = Array.from({ length: 100 }, (_, index) => (index % 10 === 3 ? '404' : '5'));
    let receivedAtFirstPause = 0;
    for (const [index, id] of ids.entries()) {
      // A paused grpc-js call delivers nothing more; this stand-in waits as HTTP/2 would.
      while (call.paused) await turn();
      call.emit('data', { ID: id });
      if (call.paused && receivedAtFirstPause === 0) {
        // Paused with the limit reached: one asked of the leader, the others waiting.
        receivedAtFirstPause = index + 1;
        expect(mostInFlight).toBe(1);
        release();
      }
    }
    call.emit('end');
    while (!call.ended) await turn();
    expect(receivedAtFirstPause).toBe(MAX_PENDING_KEEP_ALIVES + 1);
    expect(mostInFlight).toBe(1);
    expect(call.written.map((response) => response.ID)).toEqual(ids);
    expect(call.written.map((response) => response.TTL)).toEqual(
      ids.map((id) => (id === '5' ? '60' : undefined)),
    );
  });
});
