/**
 * The lock and election routes of the JSON gateway (`/v3/lock/*`, `/v3/election/*`) against a
 * real etcd 3.4 (when `etcd` is installed, e.g. Debian's etcd-server): the same requests, in the
 * same order, must get identical responses, ids and terms aside, and `/v3/election/observe` must
 * stream the same lines. Skipped without etcd.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApi } from './support/api-server.js';
import { startTestApi } from './support/api-server.js';
import { etcdPresent } from './support/etcd-binaries.js';
import type { RealEtcd } from './support/real-etcd.js';
import { startRealEtcd } from './support/real-etcd.js';
import { comparableAnswer, jsonLinesOf } from './support/gateway-answers.js';

const b = (text: string): string => Buffer.from(text).toString('base64');

async function post(base: string, path: string, body: unknown): Promise<unknown> {
  const response = await fetch(`${base}${path}`, { method: 'POST', body: JSON.stringify(body) });
  return comparableAnswer(response.status, (await response.json()) as Record<string, unknown>);
}

/** Reads `/v3/election/observe`'s lines (parsed) as they come. */
function observe(
  base: string,
  body: unknown,
): { status: Promise<number>; next(): Promise<unknown>; close(): void } {
  const abort = new AbortController();
  const started = fetch(`${base}/v3/election/observe`, {
    method: 'POST',
    body: JSON.stringify(body),
    signal: abort.signal,
  });
  return {
    status: started.then((response) => response.status),
    next: jsonLinesOf(started, 'the observe stream'),
    close: () => abort.abort(),
  };
}

/**
 * Lock and election requests in order. Each contender's key is `<name>/<lease in hex>`, so the
 * leases are given ids; `{leader}` stands for the leader key the previous campaign answered.
 */
const LEADER = Symbol('the leader key of the last campaign');
const steps: [string, unknown][] = [
  ['/v3/lease/grant', { TTL: 600, ID: 9001 }],
  ['/v3/lease/grant', { TTL: 600, ID: 9002 }],
  ['/v3/lock/lock', { name: b('door'), lease: 9001 }],
  ['/v3/kv/range', { key: b('door/'), range_end: b('door0') }],
  ['/v3/lock/unlock', { key: b('door/2329') }],
  ['/v3/lock/lock', { name: b('door'), lease: '9002' }],
  ['/v3/lock/unlock', { key: b('door/232a') }],
  ['/v3/lock/unlock', { key: b('door/absent') }],
  ['/v3/lock/lock', { name: b('door'), lease: '9999' }],
  ['/v3/election/leader', { name: b('vote') }],
  ['/v3/election/campaign', { name: b('vote'), lease: 9001, value: b('first') }],
  ['/v3/election/leader', { name: b('vote') }],
  ['/v3/election/proclaim', { leader: LEADER, value: b('second') }],
  ['/v3/election/leader', { name: b('vote') }],
  ['/v3/election/resign', { leader: LEADER }],
  ['/v3/election/leader', { name: b('vote') }],
  ['/v3/election/proclaim', { leader: LEADER, value: b('late') }],
  ['/v3/election/resign', { leader: LEADER }],
  ['/v3/election/campaign', { name: b('vote'), lease: '9002', value: b('third') }],
  ['/v3/election/leader', { name: b('vote') }],
  ['/v3/election/resign', { leader: LEADER }],
];

let etcd: RealEtcd | undefined;
let etcdUrl: string;
let api: TestApi;

describe.skipIf(!etcdPresent)('lock and election gateway routes beside a real etcd 3.4', () => {
  beforeAll(async () => {
    etcd = await startRealEtcd();
    etcdUrl = etcd.clientUrl;
    api = await startTestApi();
  }, 60_000);

  afterAll(async () => {
    await etcd?.stop();
    await api?.close();
  });

  it('answers every lock and election request as etcd does', { timeout: 60_000 }, async () => {
    const transcripts: unknown[][] = [];
    for (const base of [etcdUrl, api.baseUrl]) {
      const transcript: unknown[] = [];
      let leader: unknown;
      for (const [path, body] of steps) {
        const sent = JSON.parse(
          JSON.stringify(body, (_key, value: unknown) => (value === LEADER ? leader : value)),
        ) as unknown;
        const answer = await post(base, path, sent);
        const campaigned = (answer as { body: { leader?: unknown } }).body.leader;
        if (campaigned !== undefined) leader = campaigned;
        transcript.push([path, answer]);
      }
      transcripts.push(transcript);
    }
    expect(transcripts[1]).toEqual(transcripts[0]);
  });

  it(
    'streams the leader and each change on /v3/election/observe',
    { timeout: 60_000 },
    async () => {
      const transcripts: unknown[][] = [];
      for (const base of [etcdUrl, api.baseUrl]) {
        const lease = async (id: number): Promise<void> => {
          await post(base, '/v3/lease/grant', { TTL: 600, ID: id });
        };
        await lease(9101);
        await lease(9102);
        const name = b('observed');
        const stream = observe(base, { name });
        const lines: unknown[] = [];
        const first = (await post(base, '/v3/election/campaign', {
          name,
          lease: 9101,
          value: b('a'),
        })) as { body: { leader: unknown } };
        lines.push(await stream.next());
        await post(base, '/v3/election/proclaim', { leader: first.body.leader, value: b('a2') });
        lines.push(await stream.next());
        // A second contender waits in line while the first leads: its key is there, then the
        // first resigns.
        const second = post(base, '/v3/election/campaign', { name, lease: 9102, value: b('b') });
        const inLine = { key: b('observed/'), range_end: b('observed0'), count_only: true };
        while (
          ((await post(base, '/v3/kv/range', inLine)) as { body: { count?: string } }).body
            .count !== '2'
        ) {
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        await post(base, '/v3/election/resign', { leader: first.body.leader });
        lines.push(await stream.next());
        await second;
        lines.push(await stream.status);
        stream.close();
        transcripts.push(
          lines.map((line) =>
            typeof line === 'number'
              ? line
              : comparableAnswer(200, line as Record<string, unknown>),
          ),
        );
      }
      expect(transcripts[1]).toEqual(transcripts[0]);
    },
  );
});
