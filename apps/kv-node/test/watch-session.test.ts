/**
 * The transport-neutral watch session (shared by `POST /v3/watch` and gRPC Watch) over an output
 * that pushes back on demand: nothing more is written while it does, a progress request is
 * answered only once every event before the revision it reports has been written (also when a
 * watcher catches up from history with nothing left to send), and a
 * revision larger than the request limit is cut into fragments when the watch asked for them.
 */

import { describe, expect, it } from 'vitest';
import type { RequestCredentials } from '../src/auth/auth-gate.js';
import { DEFAULT_API_LIMITS } from '../src/http/api-limits.js';
import type { JsonBody } from '../src/http/etcd-json.js';
import { createApiContext } from '../src/http/http-api.js';
import { NodeMetrics } from '../src/metrics/node-metrics.js';
import { WatchSession, decodeWatchRequest } from '../src/watch/watch-session.js';
import type { WatchOutput } from '../src/watch/watch-stream.js';
import { DirectBackend } from './support/direct-backend.js';

const b = (text: string): string => Buffer.from(text).toString('base64');
const anonymous: RequestCredentials = { header: () => undefined, request: { socket: {} } };

/** An output that records what is written and accepts writes only while `accepting`. */
class ControlledOutput implements WatchOutput<JsonBody> {
  readonly written: JsonBody[] = [];
  accepting = true;
  readonly #drainListeners: (() => void)[] = [];

  write(item: JsonBody): boolean {
    this.written.push(item);
    return this.accepting;
  }

  onDrain(listener: () => void): void {
    this.#drainListeners.push(listener);
  }

  onClose(): void {
    // Never closed by the client in these tests.
  }

  end(): void {
    // Nothing to end.
  }

  /** Accepts writes again and says so, as a socket does once its buffer empties. */
  drain(): void {
    this.accepting = true;
    for (const listener of this.#drainListeners) listener();
  }
}

function setUp(maxRequestBytes = DEFAULT_API_LIMITS.maxRequestBytes) {
  const backend = new DirectBackend();
  const context = createApiContext({
    backend,
    metrics: new NodeMetrics({ processMetrics: false }),
    limits: { ...DEFAULT_API_LIMITS, maxRequestBytes },
  });
  const output = new ControlledOutput();
  const session = new WatchSession(context, output, (response) => response);
  const send = (request: unknown): void => session.handle(decodeWatchRequest(request), anonymous);
  const put = async (key: string, value: string): Promise<void> => {
    await backend.write({ type: 'put', request: { key, value, prevKv: false } });
    // The session writes on a later microtask, never inside apply.
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { backend, output, session, send, put };
}

const revisionOf = (response: JsonBody | undefined): string | undefined =>
  (response?.header as { revision?: string } | undefined)?.revision;

describe('WatchSession', () => {
  it('writes nothing more while the output pushes back, and answers progress once caught up', async () => {
    const { output, session, send, put } = setUp();
    send({ create_request: { key: b('k') } });
    expect(output.written).toHaveLength(1);
    expect(output.written[0]?.created).toBe(true);
    const start = Number(revisionOf(output.written[0]));
    output.accepting = false;
    await put('k', '1');
    expect(output.written).toHaveLength(2);
    expect(session.backpressured).toBe(true);
    send({ progress_request: {} });
    await put('k', '2');
    await put('k', '3');
    // Queued in the hub, not written: the output is full.
    expect(output.written).toHaveLength(2);
    output.drain();
    const after = output.written.slice(2);
    // The two revisions queued meanwhile go out as one response, in order, then the progress.
    expect(after.map((response) => response.events === undefined)).toEqual([false, true]);
    expect(after.map(revisionOf)).toEqual([start + 3, start + 3].map(String));
    const events = after[0]?.events as { kv: { mod_revision: string } }[];
    expect(events.map((event) => event.kv.mod_revision)).toEqual(
      [start + 2, start + 3].map(String),
    );
    expect(after[1]?.watch_id).toBe('-1');
    session.close();
  });

  it('answers a progress request once a watcher behind catches up with nothing more to send', async () => {
    const { output, session, send, put } = setUp();
    await put('other', '1');
    await put('other', '2');
    // From revision 1: behind, it catches up from history on later turns; no event is its.
    send({ create_request: { key: b('quiet'), start_revision: '1' } });
    send({ progress_request: {} });
    for (let turn = 0; output.written.length < 2 && turn < 100; turn++) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(output.written.map((response) => response.watch_id)).toEqual([undefined, '-1']);
    expect(revisionOf(output.written[1])).toBe(revisionOf(output.written[0]));
    session.close();
  });

  it("shows each event's lease and its prev_kv's, as of their revisions, as etcd's KeyValue.lease", async () => {
    const { backend, output, session, send } = setUp();
    send({ create_request: { key: b('l'), prev_kv: true } });
    await backend.write({ type: 'lease', request: { op: 'grant', id: '7001', ttlSeconds: 600 } });
    const write = async (request: Parameters<typeof backend.write>[0]): Promise<void> => {
      await backend.write(request);
      await new Promise((resolve) => setImmediate(resolve));
    };
    await write({ type: 'put', request: { key: 'l', value: '1', prevKv: false, lease: '7001' } });
    await write({ type: 'put', request: { key: 'l', value: '2', prevKv: false } });
    await write({ type: 'put', request: { key: 'l', value: '3', prevKv: false, lease: '7001' } });
    await write({ type: 'lease', request: { op: 'revoke', id: '7001', expired: false } });
    type Kv = { lease?: string } | undefined;
    const events = output.written.flatMap(
      (response) => (response.events ?? []) as { type?: string; kv: Kv; prev_kv?: Kv }[],
    );
    expect(
      events.map((event) => [event.type ?? 'PUT', event.kv?.lease, event.prev_kv?.lease]),
    ).toEqual([
      ['PUT', '7001', undefined],
      ['PUT', undefined, '7001'],
      ['PUT', '7001', undefined],
      // The revoke deletes the key: a delete shows no lease, its prev_kv the one it had.
      ['DELETE', undefined, '7001'],
    ]);
    session.close();
  });

  it('sends what queued meanwhile as one response of whole revisions in order; a fragmented watch gets one per revision', async () => {
    const { backend, output, session, send, put } = setUp();
    send({ create_request: { key: b('c/'), range_end: b('c0'), watch_id: '1' } });
    send({ create_request: { key: b('c/'), range_end: b('c0'), watch_id: '2', fragment: true } });
    output.accepting = false;
    await put('c/first', '1');
    const written = output.written.length;
    await put('c/x', '2');
    await backend.write({
      type: 'txn',
      request: {
        compare: [],
        success: ['c/y', 'c/z'].map((key) => ({
          type: 'put' as const,
          request: { key, value: '3', prevKv: false },
        })),
        failure: [],
      },
    });
    await put('c/w', '4');
    output.drain();
    const after = output.written.slice(written);
    const keysOf = (response: JsonBody): string[] =>
      (response.events as { kv: { key: string } }[]).map((event) =>
        Buffer.from(event.kv.key, 'base64').toString(),
      );
    const coalesced = after.filter((response) => response.watch_id === '1');
    expect(coalesced.map(keysOf)).toEqual([['c/x', 'c/y', 'c/z', 'c/w']]);
    expect(revisionOf(coalesced[0])).toBe(String(backend.store.revision));
    const perRevision = after.filter((response) => response.watch_id === '2');
    expect(perRevision.map(keysOf)).toEqual([['c/x'], ['c/y', 'c/z'], ['c/w']]);
    session.close();
  });

  it('cuts a revision past the request limit into fragments when asked, and only then', async () => {
    const { backend, output, session, send } = setUp(1000);
    send({ create_request: { key: b('f/'), range_end: b('f0'), fragment: true, watch_id: '1' } });
    send({ create_request: { key: b('f/'), range_end: b('f0'), watch_id: '2' } });
    const value = 'v'.repeat(400);
    await backend.write({
      type: 'txn',
      request: {
        compare: [],
        success: ['a', 'b', 'c', 'd', 'e'].map((name) => ({
          type: 'put' as const,
          request: { key: `f/${name}`, value, prevKv: false },
        })),
        failure: [],
      },
    });
    await new Promise((resolve) => setImmediate(resolve));
    const events = output.written.filter((response) => response.events !== undefined);
    const fragmented = events.filter((response) => response.watch_id === '1');
    expect(fragmented.map((response) => (response.events as unknown[]).length)).toEqual([2, 2, 1]);
    expect(fragmented.map((response) => response.fragment)).toEqual([true, true, undefined]);
    const whole = events.filter((response) => response.watch_id === '2');
    expect(whole.map((response) => (response.events as unknown[]).length)).toEqual([5]);
    expect(whole[0]?.fragment).toBeUndefined();
    session.close();
  });
});
