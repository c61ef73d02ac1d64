/**
 * Issue 23, finding 1, against three real kv-node processes: a write txn's cost is bounded at
 * admission, before it enters the log. (a) The nested txn that used to kill every member
 * (1 put + 127 nested txns of 128 unbounded ranges) is refused as etcd 3.4 refuses it, and
 * nothing is replicated. (b) The flat form (1 put + 127 unbounded ranges over a few thousand
 * keys) is refused by the leader's read budget, also through a follower. (c) A write txn with
 * ranges within the budget is answered in full through a follower while only the proposing
 * member reads its ranges (the others count them as not read). (d) A replay by Idempotency-Key
 * does not fabricate range results: the idempotency table keeps none.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProcessCluster, ProcessMember } from './support/process-cluster.js';
import type { StartedCluster } from './support/started-cluster.js';
import { startedCluster } from './support/started-cluster.js';

const b64 = (text: string): string => Buffer.from(text).toString('base64');

let started: StartedCluster | undefined;
let cluster: ProcessCluster;

/** Keys loaded before the flat txn: a few thousand, as in the probe. */
const LOADED_KEYS = 3000;

const unboundedRange = { request_range: { key: b64('a'), range_end: b64('\0') } };

async function post(
  member: ProcessMember,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${member.clientUrl}${path}`, {
    method: 'POST',
    headers,
    body: JSON.stringify(body),
  });
}

/** The member's own store revision (a serializable read answers from local state). */
async function localRevision(member: ProcessMember): Promise<number> {
  const response = await post(member, '/v3/kv/range', { key: b64('a'), serializable: true });
  const body = (await response.json()) as { header: { revision: string } };
  return Number(body.header.revision);
}

async function retryUntil<T>(
  action: () => Promise<T>,
  accept: (value: T) => boolean,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await action();
    if (accept(value)) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting; last ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Writes a marker through the leader and waits until every member has applied it: then each
 * member's revision tells exactly which writes were applied before it.
 */
async function markerRevisionOnEveryMember(name: string): Promise<number[]> {
  const leader = await cluster.leader();
  const put = await post(leader, '/v3/kv/put', { key: b64(`marker/${name}`), value: b64('x') });
  expect(put.status).toBe(200);
  const revision = Number(((await put.json()) as { header: { revision: string } }).header.revision);
  return retryUntil(
    () => Promise.all(cluster.members.map(localRevision)),
    (revisions) => revisions.every((each) => each >= revision),
  );
}

/** kv_txn_ranges_applied_total by outcome, on one member. */
async function rangeCounters(member: ProcessMember): Promise<{ read: number; notRead: number }> {
  const text = await (await fetch(`${member.clientUrl}/metrics`)).text();
  const value = (outcome: string): number => {
    const line = text
      .split('\n')
      .find((each) => each.startsWith(`kv_txn_ranges_applied_total{outcome="${outcome}"}`));
    return line === undefined ? 0 : Number(line.split(' ').at(-1));
  };
  if (!text.includes('kv_txn_ranges_applied_total')) {
    throw new Error('no kv_txn_ranges_applied_total metric');
  }
  return { read: value('read'), notRead: value('not_read') };
}

beforeAll(async () => {
  started = await startedCluster(3);
  cluster = started.cluster;
}, 120_000);

afterAll(() => started?.stop());

describe('admission bounds what a write txn costs to apply (issue 23, finding 1)', () => {
  it(
    'refuses the nested txn (1 put + 127 txns of 128 ranges) with 400; nothing replicated',
    {
      timeout: 60_000,
    },
    async () => {
      const before = await markerRevisionOnEveryMember('before-nested');
      const nested = {
        success: [
          { request_put: { key: b64('nested'), value: b64('v') } },
          ...Array.from({ length: 127 }, () => ({
            request_txn: { success: Array.from({ length: 128 }, () => unboundedRange) },
          })),
        ],
      };
      const response = await post(await cluster.leader(), '/v3/kv/txn', nested);
      const body = (await response.json()) as Record<string, unknown>;
      expect(response.status).toBe(400);
      expect(body).toMatchObject({
        error: 'etcdserver: too many operations in txn request',
        code: 3,
        reason: 'too_many_operations',
      });
      // The marker is the only write since: the txn never entered the log.
      const after = await markerRevisionOnEveryMember('after-nested');
      expect(after).toEqual(before.map((revision) => revision + 1));
    },
  );

  it(
    'refuses the flat txn (1 put + 127 unbounded ranges over 3,000 keys) at the leader',
    {
      timeout: 60_000,
    },
    async () => {
      const leader = await cluster.leader();
      for (let first = 0; first < LOADED_KEYS; first += 125) {
        const puts = Array.from({ length: 125 }, (_, offset) => ({
          request_put: {
            key: b64(`load/${String(first + offset).padStart(5, '0')}`),
            value: b64('v'),
          },
        }));
        expect((await post(leader, '/v3/kv/txn', { success: puts })).status).toBe(200);
      }
      const before = await markerRevisionOnEveryMember('before-flat');
      const flat = {
        success: [
          { request_put: { key: b64('flat'), value: b64('v') } },
          ...Array.from({ length: 127 }, () => unboundedRange),
        ],
      };
      // Through a follower: the leader checks forwarded writes too.
      const follower = cluster.members.find((member) => member !== leader) as ProcessMember;
      for (const member of [leader, follower]) {
        const response = await post(member, '/v3/kv/txn', flat);
        const body = (await response.json()) as Record<string, unknown>;
        expect(response.status, JSON.stringify(body).slice(0, 300)).toBe(400);
        expect(body).toMatchObject({ reason: 'txn_reads_too_large', code: 3, definite: true });
        expect(String(body['error'])).toContain('--max-txn-read-keys');
      }
      const after = await markerRevisionOnEveryMember('after-flat');
      expect(after).toEqual(before.map((revision) => revision + 1));
    },
  );

  it(
    'answers ranges within the budget through a follower; only the proposer reads them',
    {
      timeout: 60_000,
    },
    async () => {
      const leader = await cluster.leader();
      const follower = cluster.members.find((member) => member !== leader) as ProcessMember;
      const countersBefore = await Promise.all(cluster.members.map(rangeCounters));
      // Three ranges of 1,000 keys each (load/00xxx, load/01xxx, load/02xxx), read with a put.
      const ranges = ['load/00', 'load/01', 'load/02'].map((prefix) => ({
        request_range: {
          key: b64(prefix),
          // The prefix with its last character incremented: [load/00, load/01).
          range_end: b64(prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(6) + 1)),
          keys_only: true,
        },
      }));
      const response = await post(follower, '/v3/kv/txn', {
        success: [{ request_put: { key: b64('with-reads'), value: b64('v') } }, ...ranges],
      });
      expect(response.status).toBe(200);
      const body = (await response.json()) as {
        header: { revision: string };
        responses: { response_range?: { kvs: unknown[]; count: string } }[];
      };
      const counts = body.responses.slice(1).map((each) => each.response_range?.count);
      expect(counts).toEqual(['1000', '1000', '1000']);
      expect(body.responses.slice(1).map((each) => each.response_range?.kvs.length)).toEqual([
        1000, 1000, 1000,
      ]);
      const revision = Number(body.header.revision);
      await retryUntil(
        () => Promise.all(cluster.members.map(localRevision)),
        (revisions) => revisions.every((each) => each >= revision),
      );
      const countersAfter = await Promise.all(cluster.members.map(rangeCounters));
      const deltas = countersAfter.map((after, index) => ({
        read: after.read - (countersBefore[index] as { read: number }).read,
        notRead: after.notRead - (countersBefore[index] as { notRead: number }).notRead,
      }));
      // One member (the proposer) read the three ranges; the two others read none of them.
      expect(deltas.map((each) => each.read).sort()).toEqual([0, 0, 3]);
      expect(deltas.map((each) => each.notRead).sort()).toEqual([0, 3, 3]);
    },
  );

  it(
    'a replay by Idempotency-Key returns no fabricated range results',
    {
      timeout: 60_000,
    },
    async () => {
      const leader = await cluster.leader();
      const txn = {
        success: [
          { request_put: { key: b64('replayed'), value: b64('v') } },
          { request_range: { key: b64('load/00000') } },
        ],
      };
      const headers = { 'idempotency-key': 'admission-replay-1' };
      const first = await post(leader, '/v3/kv/txn', txn, headers);
      expect(first.status).toBe(200);
      const firstBody = (await first.json()) as {
        header: { revision: string };
        responses: { response_range?: { kvs: unknown[] } }[];
      };
      expect(firstBody.responses[1]?.response_range?.kvs).toHaveLength(1);
      for (const member of cluster.members) {
        const again = await post(member, '/v3/kv/txn', txn, headers);
        const body = (await again.json()) as Record<string, unknown>;
        expect(again.status, JSON.stringify(body)).toBe(409);
        expect(again.headers.get('idempotent-replayed')).toBe('true');
        expect(body).toMatchObject({ reason: 'reads_not_returned', definite: false });
        expect(String(body['error'])).toContain(`revision ${firstBody.header.revision}`);
      }
    },
  );
});
