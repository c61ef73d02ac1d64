/**
 * The same v3 requests sent to a real etcd 3.4 (when `etcd` is installed, e.g. Debian's
 * etcd-server) and to kv-node's API must get identical responses, ids aside. Skipped without etcd.
 */

import type { ChildProcess } from 'node:child_process';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApi } from './support/api-server.js';
import { startTestApi } from './support/api-server.js';
import { freePort } from './support/process-cluster.js';

function hasEtcd(): boolean {
  try {
    execFileSync('etcd', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

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

/** Drops what differs by design (ids, term) and keeps etcd's own error fields. */
function comparable(status: number, body: Record<string, unknown>): unknown {
  const withoutIds = JSON.parse(
    JSON.stringify(body, (key, value: unknown) =>
      ['cluster_id', 'member_id', 'raft_term'].includes(key) ? undefined : value,
    ),
  ) as Record<string, unknown>;
  return {
    status,
    body:
      withoutIds.error === undefined
        ? withoutIds
        : { error: withoutIds.error, code: withoutIds.code },
  };
}

let etcd: ChildProcess | undefined;
let etcdRoot: string;
let etcdUrl: string;
let api: TestApi;

describe.skipIf(!hasEtcd())('responses identical to a real etcd 3.4', { timeout: 60_000 }, () => {
  beforeAll(async () => {
    etcdRoot = await mkdtemp(`${tmpdir()}/kv-etcd-`);
    const clientPort = await freePort();
    const peerPort = await freePort();
    etcdUrl = `http://127.0.0.1:${clientPort}`;
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    etcd = spawn(
      'etcd',
      [
        '--name',
        's',
        '--data-dir',
        `${etcdRoot}/data`,
        '--listen-client-urls',
        etcdUrl,
        '--advertise-client-urls',
        etcdUrl,
        '--listen-peer-urls',
        peerUrl,
        '--initial-advertise-peer-urls',
        peerUrl,
        '--initial-cluster',
        `s=${peerUrl}`,
      ],
      { stdio: 'ignore' },
    );
    for (let attempt = 0; attempt < 200; attempt++) {
      const response = await fetch(`${etcdUrl}/health`).catch(() => undefined);
      if (response?.ok) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    api = await startTestApi();
  });

  afterAll(async () => {
    if (etcd?.pid !== undefined) process.kill(etcd.pid, 'SIGKILL');
    await api?.close();
    await rm(etcdRoot, { recursive: true, force: true });
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
          comparable(response.status, (await response.json()) as Record<string, unknown>),
        );
      }
      expect(answers[1], `${path} ${JSON.stringify(body)}`).toEqual(answers[0]);
    }
  });
});
