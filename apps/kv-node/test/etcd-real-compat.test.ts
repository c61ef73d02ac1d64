/**
 * The same v3 requests sent to a real etcd 3.4 (when `etcd` is installed, e.g. Debian's
 * etcd-server) and to kv-node's API must get identical responses, ids aside. Skipped without etcd.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApi } from './support/api-server.js';
import { startTestApi } from './support/api-server.js';
import { etcdPresent } from './support/etcd-binaries.js';
import type { RealEtcd } from './support/real-etcd.js';
import { startRealEtcd } from './support/real-etcd.js';
import { comparableAnswer, jsonLinesOf } from './support/gateway-answers.js';

const b = (text: string): string => Buffer.from(text).toString('base64');
const steps: [string, unknown][] = [
  ['/v3/kv/range', { key: b('foo') }],
  ['/v3/kv/put', { key: b('foo'), value: b('bar') }],
  ['/v3/kv/put', { key: b('foo'), value: b('baz'), prev_kv: true }],
  ['/v3/kv/put', { key: b('foo2'), value: b('x') }],
  ['/v3/kv/range', { key: b('foo'), range_end: b('fop'), limit: 1 }],
  ['/v3/kv/range', { key: b('foo'), range_end: b('fop'), keys_only: true }],
  ['/v3/kv/range', { key: b('foo'), range_end: b('fop'), count_only: true }],
  ['/v3/kv/range', { key: 'AA==', rangeEnd: 'AA==', limit: '1', sort_order: 'DESCEND' }],
  ['/v3/kv/deleterange', { key: b('foo2'), prev_kv: true }],
  ['/v3/kv/deleterange', { key: b('absent') }],
  [
    '/v3/kv/txn',
    {
      compare: [{ result: 'EQUAL', target: 'VALUE', key: b('foo'), value: b('baz') }],
      success: [
        { request_put: { key: b('foo'), value: b('qux') } },
        { request_range: { key: b('foo') } },
      ],
      failure: [{ request_range: { key: b('foo') } }],
    },
  ],
  [
    '/v3/kv/txn',
    {
      compare: [{ target: 'MOD', key: b('foo'), result: 'LESS', mod_revision: '2' }],
      success: [{ request_put: { key: b('foo'), value: b('no') } }],
      failure: [{ request_delete_range: { key: b('nothing') } }],
    },
  ],
  [
    '/v3/kv/txn',
    {
      compare: [{ target: 'VERSION', key: b('new') }],
      success: [{ request_put: { key: b('new'), value: b('1') } }],
    },
  ],
  ['/v3/kv/put', { value: b('x') }],
  ['/v3/kv/range', { key: b('foo'), revision: 99 }],
  // History: the state as of past revisions, across a delete and a re-create.
  ['/v3/kv/range', { key: b('foo'), revision: 2 }],
  ['/v3/kv/range', { key: b('foo'), range_end: b('fop'), revision: '4' }],
  ['/v3/kv/range', { key: b('foo2'), revision: 5 }],
  ['/v3/kv/range', { key: b('foo'), range_end: b('fop'), revision: 5, count_only: true }],
  ['/v3/kv/range', { key: 'AA==', range_end: 'AA==', revision: 3, sort_order: 'DESCEND' }],
  ['/v3/kv/range', { key: b('foo'), revision: 1 }],
  ['/v3/kv/range', { key: b('foo'), revision: 0 }],
  // Compaction through the log, and reads around the compact revision.
  ['/v3/kv/compaction', { revision: 3 }],
  ['/v3/kv/compaction', { revision: '3', physical: true }],
  ['/v3/kv/compaction', { revision: 2 }],
  ['/v3/kv/compaction', { revision: 999 }],
  ['/v3/kv/range', { key: b('foo'), revision: 2 }],
  ['/v3/kv/range', { key: b('foo'), range_end: b('fop'), revision: 3 }],
  ['/v3/kv/range', { key: b('foo'), range_end: b('fop'), revision: 5 }],
  // Ranges at a revision inside transactions, read-only and writing, taken branch or not.
  ['/v3/kv/txn', { success: [{ request_range: { key: b('foo'), revision: 5 } }] }],
  ['/v3/kv/txn', { success: [{ request_range: { key: b('foo'), revision: 2 } }] }],
  [
    '/v3/kv/txn',
    {
      success: [
        { request_put: { key: b('t/past'), value: b('1') } },
        { request_range: { key: b('foo'), range_end: b('fop'), revision: 4 } },
        { request_range: { key: b('t/past') } },
      ],
    },
  ],
  [
    '/v3/kv/txn',
    {
      success: [
        { request_put: { key: b('t/past'), value: b('2') } },
        { request_range: { key: b('t/past'), revision: 2 } },
      ],
    },
  ],
  [
    '/v3/kv/txn',
    {
      success: [
        { request_put: { key: b('t/past'), value: b('3') } },
        { request_range: { key: b('t/past'), revision: 999 } },
      ],
    },
  ],
  ['/v3/kv/range', { key: b('t/past') }],
  [
    '/v3/kv/txn',
    {
      compare: [{ target: 'VERSION', key: b('t/past'), version: '1' }],
      success: [{ request_put: { key: b('t/past'), value: b('4') } }],
      failure: [
        { request_range: { key: b('t/past'), revision: '1' } },
        {
          request_txn: {
            compare: [{ target: 'VERSION', key: b('absent'), result: 'GREATER', version: '0' }],
            success: [{ request_range: { key: b('foo'), revision: 2 } }],
            failure: [{ request_range: { key: b('foo'), revision: 7 } }],
          },
        },
      ],
    },
  ],
  // Alarms: NOSPACE refuses writes that add data; deletes, reads and compaction go on.
  ['/v3/maintenance/alarm', { action: 'GET' }],
  ['/v3/maintenance/alarm', { action: 'ACTIVATE', memberID: '7', alarm: 'NOSPACE' }],
  ['/v3/maintenance/alarm', { action: 'GET' }],
  ['/v3/kv/put', { key: b('full'), value: b('x') }],
  ['/v3/kv/txn', { success: [{ request_put: { key: b('full'), value: b('x') } }] }],
  [
    '/v3/kv/txn',
    {
      compare: [{ target: 'VERSION', key: b('full'), version: '9' }],
      success: [{ request_put: { key: b('full'), value: b('x') } }],
    },
  ],
  ['/v3/kv/txn', { success: [{ request_range: { key: b('foo') } }] }],
  ['/v3/kv/deleterange', { key: b('new') }],
  ['/v3/kv/range', { key: b('foo') }],
  ['/v3/kv/compaction', { revision: 4 }],
  ['/v3/maintenance/alarm', { action: 'DEACTIVATE', memberID: '8', alarm: 'NOSPACE' }],
  ['/v3/maintenance/alarm', { action: 'DEACTIVATE', memberID: '7', alarm: 'NOSPACE' }],
  ['/v3/maintenance/alarm', { action: 'GET' }],
  ['/v3/kv/put', { key: b('full'), value: b('x') }],
  ['/v3/maintenance/alarm', { action: 'ACTIVATE', memberID: '7', alarm: 'NONE' }],
  ['/v3/maintenance/alarm', { action: 'ACTIVATE', memberID: '7', alarm: 'BOGUS' }],
  ['/v3/maintenance/alarm', { action: 'SNOOZE', alarm: 'NOSPACE' }],
  ['/v3/maintenance/alarm', { action: 2, memberID: 7, alarm: 1 }],
  ['/v3/maintenance/alarm', { action: 'GET' }],
  [
    '/v3/kv/txn',
    {
      success: [
        { request_put: { key: b('d'), value: b('1') } },
        { request_put: { key: b('d'), value: b('2') } },
      ],
    },
  ],
];

const oneKeyRange = { request_range: { key: b('foo') } };
const ranges = (count: number): unknown[] => Array.from({ length: count }, () => oneKeyRange);
const putOf = (key: string): unknown => ({ request_put: { key: b(key), value: b('v') } });
const absentVersions = (count: number): unknown[] =>
  Array.from({ length: count }, () => ({ key: b('absent'), target: 'VERSION', version: '0' }));

/**
 * etcd 3.4's txn operation budget (v3rpc checkTxnRequest): the longest list of a level against
 * 128, each nested txn against 128 minus that. Accepted shapes answer 200 with the same body.
 */
const txnBudgetShapes: [string, unknown][] = [
  ['129 ops at the top', { success: [putOf('t1'), ...ranges(128)] }],
  ['128 ops at the top', { success: [putOf('t2'), ...ranges(127)] }],
  [
    '64 ops, then a nested txn of 64',
    { success: [putOf('t3'), ...ranges(62), { request_txn: { success: ranges(64) } }] },
  ],
  [
    '64 ops, then a nested txn of 65',
    { success: [putOf('t4'), ...ranges(62), { request_txn: { success: ranges(65) } }] },
  ],
  [
    '100 compares count too: nested 28',
    { compare: absentVersions(100), success: [{ request_txn: { success: ranges(28) } }] },
  ],
  [
    '100 compares count too: nested 29',
    { compare: absentVersions(100), success: [{ request_txn: { success: ranges(29) } }] },
  ],
  [
    'siblings do not share: 2 failure txns of 126 each',
    {
      success: [putOf('t5')],
      failure: [1, 2].map(() => ({ request_txn: { failure: ranges(126) } })),
    },
  ],
  [
    'siblings do not share: 2 failure txns of 127 each',
    {
      success: [putOf('t6')],
      failure: [1, 2].map(() => ({ request_txn: { failure: ranges(127) } })),
    },
  ],
  [
    'an empty txn nested at budget 0',
    { success: [putOf('t7'), ...ranges(126), { request_txn: {} }] },
  ],
  [
    "issue 23's probe: 1 put + 127 nested txns of 128 ranges",
    {
      success: [
        putOf('t8'),
        ...Array.from({ length: 127 }, () => ({ request_txn: { success: ranges(128) } })),
      ],
    },
  ],
  [
    'a chain of 20 nested levels',
    {
      success: [
        Array.from({ length: 19 }).reduce<unknown>(
          (inner) => ({ request_txn: { success: [inner] } }),
          { request_txn: { success: [oneKeyRange] } },
        ),
      ],
    },
  ],
];

/**
 * Leases: grant (with etcd's minimum TTL and its too-large TTL), put and txn with a lease (and with
 * a missing one), keep-alive, time-to-live with keys, the list, revoke (which deletes the keys in
 * one revision) and the `/v3/kv/lease/*` aliases. Ids are given so the bodies compare; leases
 * with short TTLs come last, as etcd expires them meanwhile.
 */
const leaseSteps: [string, unknown][] = [
  ['/v3/lease/grant', { TTL: 600, ID: 7001 }],
  ['/v3/lease/grant', { TTL: '600', ID: '7001' }],
  ['/v3/lease/leases', {}],
  ['/v3/kv/put', { key: b('leased'), value: b('v'), lease: '7001' }],
  ['/v3/kv/put', { key: b('leased2'), value: b('v'), lease: 7001 }],
  ['/v3/kv/put', { key: b('unleased'), value: b('v'), lease: '999999' }],
  ['/v3/kv/txn', { success: [{ request_put: { key: b('t'), value: b('v'), lease: '999999' } }] }],
  ['/v3/kv/range', { key: b('leased'), range_end: b('leasee') }],
  ['/v3/kv/put', { key: b('leased2'), value: b('w') }],
  [
    '/v3/kv/txn',
    {
      success: [
        { request_put: { key: b('leased3'), value: b('v'), lease: '7001' } },
        { request_range: { key: b('leased'), range_end: b('leasee') } },
      ],
    },
  ],
  // Comparisons of a key's LEASE: by name and number, int64 as string and number, over a range
  // (leased2 was detached by its put without a lease), a missing key's (0) and the zero default.
  [
    '/v3/kv/txn',
    {
      compare: [{ key: b('leased'), target: 'LEASE', result: 'EQUAL', lease: '7001' }],
      success: [{ request_range: { key: b('leased') } }],
    },
  ],
  ['/v3/kv/txn', { compare: [{ key: b('leased2'), target: 'LEASE', lease: 7001 }] }],
  [
    '/v3/kv/txn',
    {
      compare: [
        {
          key: b('leased'),
          range_end: b('leasee'),
          target: 'LEASE',
          result: 'GREATER',
          lease: '7000',
        },
      ],
    },
  ],
  [
    '/v3/kv/txn',
    {
      compare: [
        { key: b('leased'), range_end: b('leased3'), target: 4, result: 'NOT_EQUAL', lease: '1' },
      ],
    },
  ],
  ['/v3/kv/txn', { compare: [{ key: b('nokey'), target: 4, result: 'LESS', lease: '1' }] }],
  ['/v3/kv/txn', { compare: [{ key: b('leased'), target: 'LEASE', result: 'NOT_EQUAL' }] }],
  ['/v3/lease/keepalive', { ID: '7001' }],
  ['/v3/lease/keepalive', { ID: '999999' }],
  ['/v3/lease/keepalive', {}],
  ['/v3/lease/timetolive', { ID: '7001', keys: true }],
  ['/v3/kv/lease/timetolive', { ID: '7001' }],
  ['/v3/lease/timetolive', { ID: '999999', keys: true }],
  ['/v3/kv/lease/leases', {}],
  ['/v3/lease/revoke', { ID: '7001' }],
  ['/v3/kv/range', { key: b('leased'), range_end: b('leasee') }],
  ['/v3/lease/revoke', { ID: '7001' }],
  ['/v3/kv/lease/revoke', { ID: '7001' }],
  ['/v3/lease/revoke', {}],
  ['/v3/lease/grant', { TTL: '9000000001', ID: 7004 }],
  ['/v3/lease/grant', { TTL: 9000000000, ID: '-7005' }],
  ['/v3/lease/revoke', { ID: '-7005' }],
  ['/v3/lease/grant', { TTL: 1, ID: 7002 }],
  ['/v3/lease/grant', { TTL: -5, ID: 7003 }],
  ['/v3/lease/grant', { TTL: 0, ID: 7006 }],
];

/** Opens a watch stream and returns a reader of its lines (parsed) and a way to close it. */
async function openWatch(
  base: string,
  body: unknown,
): Promise<{ next(): Promise<unknown>; close(): void }> {
  const abort = new AbortController();
  const response = fetch(`${base}/v3/watch`, {
    method: 'POST',
    body: JSON.stringify(body),
    signal: abort.signal,
  });
  await response;
  return { next: jsonLinesOf(response, 'the watch stream'), close: () => abort.abort() };
}

/** Watch requests and how many lines each must answer after the writes below. */
const watches: [unknown, number][] = [
  [{ create_request: { key: b('w'), range_end: b('x'), prev_kv: true } }, 4],
  [{ create_request: { key: b('w'), filters: ['NOPUT'], watch_id: 7 } }, 2],
  [{ create_request: { key: b('w'), range_end: b('x'), filters: [1] } }, 4],
  [{ create_request: { key: b('w'), range_end: b('w'), prev_kv: true } }, 1],
  [{ create_request: { key: b('foo'), start_revision: 2 } }, 2],
  // Events and prev_kv carry the key's lease as of their revision; a delete's kv has none.
  [{ create_request: { key: b('lk'), prev_kv: true } }, 5],
];
const watchWrites: [string, unknown][] = [
  ['/v3/kv/put', { key: b('w'), value: b('1') }],
  ['/v3/kv/put', { key: b('w'), value: b('2') }],
  [
    '/v3/kv/txn',
    {
      success: [
        { request_put: { key: b('w1'), value: b('1') } },
        { request_delete_range: { key: b('w') } },
      ],
    },
  ],
  ['/v3/lease/grant', { TTL: 600, ID: 8001 }],
  ['/v3/kv/put', { key: b('lk'), value: b('1'), lease: '8001' }],
  ['/v3/kv/put', { key: b('lk'), value: b('2') }],
  ['/v3/kv/put', { key: b('lk'), value: b('3'), lease: 8001 }],
  ['/v3/lease/revoke', { ID: '8001' }],
];

let etcd: RealEtcd | undefined;
let etcdUrl: string;
let api: TestApi;

describe.skipIf(!etcdPresent)('responses identical to a real etcd 3.4', { timeout: 60_000 }, () => {
  beforeAll(async () => {
    etcd = await startRealEtcd();
    etcdUrl = etcd.clientUrl;
    api = await startTestApi();
  });

  afterAll(async () => {
    await etcd?.stop();
    await api?.close();
  });

  it('for every route, shape and error in the sequence', async () => {
    for (const [path, body] of steps) {
      const answers = [];
      for (const base of [etcdUrl, api.baseUrl]) {
        const response = await fetch(`${base}${path}`, {
          method: 'POST',
          body: JSON.stringify(body),
        });
        answers.push(
          comparableAnswer(response.status, (await response.json()) as Record<string, unknown>),
        );
      }
      expect(answers[1], `${path} ${JSON.stringify(body)}`).toEqual(answers[0]);
    }
  });

  it('for every lease route, shape and error in the sequence', async () => {
    for (const [path, body] of leaseSteps) {
      const answers = [];
      for (const base of [etcdUrl, api.baseUrl]) {
        const response = await fetch(`${base}${path}`, {
          method: 'POST',
          body: JSON.stringify(body),
        });
        const answer = (await response.json()) as Record<string, unknown>;
        // etcd lists a lease's keys in its map's order, which varies from run to run.
        if (Array.isArray(answer.keys)) answer.keys = [...(answer.keys as string[])].sort();
        answers.push(comparableAnswer(response.status, answer));
      }
      expect(answers[1], `${path} ${JSON.stringify(body)}`).toEqual(answers[0]);
    }
  });

  it('streams watches as etcd does: created, events, filters, prev_kv, cancels', async () => {
    const transcripts: unknown[][] = [];
    for (const base of [etcdUrl, api.baseUrl]) {
      const streams = await Promise.all(watches.map(([body]) => openWatch(base, body)));
      const lines: unknown[][] = watches.map(() => []);
      // Each stream's first line (created, or cancelled) comes before any write.
      for (const [index, stream] of streams.entries()) lines[index]?.push(await stream.next());
      for (const [path, body] of watchWrites) {
        const response = await fetch(`${base}${path}`, {
          method: 'POST',
          body: JSON.stringify(body),
        });
        await response.arrayBuffer();
      }
      for (const [index, stream] of streams.entries()) {
        const expected = (watches[index] as [unknown, number])[1];
        while ((lines[index] as unknown[]).length < expected) {
          lines[index]?.push(await stream.next());
        }
        stream.close();
      }
      transcripts.push(
        lines.map((stream) =>
          stream.map((line) => comparableAnswer(200, line as Record<string, unknown>)),
        ),
      );
    }
    expect(transcripts[1]).toEqual(transcripts[0]);
  });

  it('answers status, member list, /version and /health in the same shapes', async () => {
    // Values differ by design (ids, sizes, indexes, versions): compare the shapes, with every
    // 64-bit integer a decimal string, and the values that must agree.
    const shapeOf = (value: unknown): unknown =>
      JSON.parse(
        JSON.stringify(value, (_key, field: unknown) =>
          typeof field === 'string' ? (/^\d+$/.test(field) ? '<uint64>' : '<string>') : field,
        ),
      );
    const requests: [method: string, path: string][] = [
      ['POST', '/v3/maintenance/status'],
      ['POST', '/v3/cluster/member/list'],
      ['GET', '/version'],
      ['GET', '/health'],
    ];
    for (const [method, path] of requests) {
      const answers: { status: number; body: Record<string, unknown> }[] = [];
      for (const base of [etcdUrl, api.baseUrl]) {
        const response = await fetch(`${base}${path}`, {
          method,
          ...(method === 'POST' ? { body: '{}' } : {}),
        });
        answers.push({
          status: response.status,
          body: (await response.json()) as Record<string, unknown>,
        });
      }
      const [theirs, ours] = answers as [(typeof answers)[0], (typeof answers)[0]];
      expect(ours.status, path).toBe(theirs.status);
      // An unhealthy answer says why, with etcd 3.5's `reason` (etcd 3.4 has no reason).
      if (path === '/health' && ours.status !== 200) delete ours.body.reason;
      expect(shapeOf(ours.body), path).toEqual(shapeOf(theirs.body));
    }
    const version = async (base: string): Promise<unknown> =>
      ((await (await fetch(`${base}/version`)).json()) as { etcdcluster: unknown }).etcdcluster;
    expect(await version(api.baseUrl)).toBe(await version(etcdUrl));
  });

  it("counts a txn's operations across nesting as etcd does", async () => {
    for (const [shape, body] of txnBudgetShapes) {
      const answers = [];
      for (const base of [etcdUrl, api.baseUrl]) {
        const response = await fetch(`${base}/v3/kv/txn`, {
          method: 'POST',
          body: JSON.stringify(body),
        });
        answers.push(
          comparableAnswer(response.status, (await response.json()) as Record<string, unknown>),
        );
      }
      expect(answers[1], shape).toEqual(answers[0]);
    }
  });
});
