/**
 * Issue 23, finding 3, against a real kv-node process: a range whose answer is far larger than a
 * slice (64 KiB) is streamed whole and parses to exactly the stored data; with a `limit`, the
 * response-size cap (`--max-range-response-bytes`) cuts it and says `more`, as etcd does when a
 * limit leaves keys out, and paging on from the last key reads everything. The REST list behaves
 * the same. (That a big range no longer costs a failover is measured by `pnpm bench:big-range`.)
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProcessMember } from './support/process-cluster.js';
import type { StartedCluster } from './support/started-cluster.js';
import { startedCluster } from './support/started-cluster.js';

const b64 = (text: string): string => Buffer.from(text).toString('base64');

let started: StartedCluster | undefined;
let member: ProcessMember;

const KEYS = 400;
const VALUE_BYTES = 10 * 1024;
/** The cap the member runs with: room for about 14 keys of 10 KiB in base64. */
const CAP = 200_000;

const keyOf = (index: number): string => `big/${String(index).padStart(5, '0')}`;
/** A value that differs per key, so a misplaced or repeated value is caught. */
const valueOf = (index: number): string =>
  `${String(index).padStart(5, '0')}:`.repeat(VALUE_BYTES / 6 + 1).slice(0, VALUE_BYTES);

interface RangeBody {
  header: { revision: string };
  kvs?: { key: string; value?: string; version: string }[];
  more?: boolean;
  count?: string;
}

async function post(path: string, body: unknown): Promise<Response> {
  return fetch(`${member.clientUrl}${path}`, { method: 'POST', body: JSON.stringify(body) });
}

async function range(
  body: Record<string, unknown>,
): Promise<{ response: Response; body: RangeBody }> {
  const response = await post('/v3/kv/range', body);
  expect(response.status).toBe(200);
  return { response, body: (await response.json()) as RangeBody };
}

beforeAll(async () => {
  started = await startedCluster(1, { extraArgs: ['--max-range-response-bytes', String(CAP)] });
  member = started.first;
  // 100 puts per txn keeps each request under the 1.5 MiB request limit.
  for (let first = 0; first < KEYS; first += 100) {
    const success = Array.from({ length: 100 }, (_, offset) => ({
      request_put: { key: b64(keyOf(first + offset)), value: b64(valueOf(first + offset)) },
    }));
    const response = await post('/v3/kv/txn', { success });
    expect(response.status).toBe(200);
    await response.arrayBuffer();
  }
}, 120_000);

afterAll(() => started?.stop());

describe('a big range streams in slices (issue 23, finding 3)', () => {
  it('answers a range far larger than a slice whole, chunked, and exactly right', async () => {
    const { response, body } = await range({ key: b64('big/'), range_end: b64('big0') });
    expect(response.headers.get('transfer-encoding')).toBe('chunked');
    expect(body.more).toBeUndefined();
    expect(body.count).toBe(String(KEYS));
    expect(body.kvs).toHaveLength(KEYS);
    body.kvs?.forEach((kv, index) => {
      expect(kv.key).toBe(b64(keyOf(index)));
      expect(kv.value).toBe(b64(valueOf(index)));
      expect(kv.version).toBe('1');
    });
  });

  it('cuts a range with a limit at the cap, says more, and paging on reads every key', async () => {
    const first = await range({ key: b64('big/'), range_end: b64('big0'), limit: 300 });
    expect(first.body.more).toBe(true);
    expect(first.body.count).toBe(String(KEYS));
    const kept = first.body.kvs?.length ?? 0;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(300);
    expect(Number(first.response.headers.get('content-length') ?? 0)).toBeLessThanOrEqual(CAP);
    const seen: string[] = [];
    let from = b64('big/');
    for (let page = 0; page < 100; page++) {
      const { body } = await range({ key: from, range_end: b64('big0'), limit: 300 });
      const kvs = body.kvs ?? [];
      seen.push(...kvs.map((kv) => Buffer.from(kv.key, 'base64').toString()));
      if (body.more !== true) break;
      // The next page starts just after the last key read.
      from = b64(`${Buffer.from(kvs.at(-1)?.key ?? '', 'base64').toString()}\0`);
    }
    expect(seen).toEqual(Array.from({ length: KEYS }, (_, index) => keyOf(index)));
  });

  it('streams an unlimited range past the cap rather than cutting it', async () => {
    const { body } = await range({ key: b64('big/'), range_end: b64('big0') });
    // 400 keys of 10 KiB are about 5.5 MB of JSON, far past the 200 kB cap.
    expect(body.kvs).toHaveLength(KEYS);
    expect(body.more).toBeUndefined();
  });

  it('streams the REST list the same way, and cuts it at the cap when it has a limit', async () => {
    const whole = await fetch(`${member.clientUrl}/v1/kv?prefix=big/`);
    expect(whole.headers.get('transfer-encoding')).toBe('chunked');
    const listed = (await whole.json()) as {
      count: number;
      more: boolean;
      items: { key: string; value: string }[];
    };
    expect(listed.count).toBe(KEYS);
    expect(listed.more).toBe(false);
    expect(listed.items.map((item) => item.key)).toEqual(
      Array.from({ length: KEYS }, (_, index) => keyOf(index)),
    );
    expect(listed.items[123]?.value).toBe(valueOf(123));
    const limited = (await (
      await fetch(`${member.clientUrl}/v1/kv?prefix=big/&limit=300`)
    ).json()) as typeof listed;
    expect(limited.more).toBe(true);
    expect(limited.items.length).toBeGreaterThan(0);
    expect(limited.items.length).toBeLessThan(300);
  });
});
