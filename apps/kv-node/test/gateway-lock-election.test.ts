/**
 * The lock and election gateway routes on their own (their shapes are checked beside a real
 * etcd in etcd-real-lock-election.test.ts): a waiting contender that goes away leaves the line,
 * bodies are read as their `.proto` messages (lowerCamel names, numbers or strings), and the
 * routes share the gRPC services' rules.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApi } from './support/api-server.js';
import { startTestApi } from './support/api-server.js';

const b = (text: string): string => Buffer.from(text).toString('base64');

let api: TestApi;

async function post(path: string, body: unknown, signal?: AbortSignal): Promise<Response> {
  return fetch(`${api.baseUrl}${path}`, {
    method: 'POST',
    body: JSON.stringify(body),
    ...(signal === undefined ? {} : { signal }),
  });
}

async function keysUnder(prefix: string): Promise<string[]> {
  const response = await post('/v3/kv/range', {
    key: b(prefix),
    range_end: b(
      `${prefix.slice(0, -1)}${String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1)}`,
    ),
    keys_only: true,
  });
  const body = (await response.json()) as { kvs?: { key: string }[] };
  return (body.kvs ?? []).map((kv) => Buffer.from(kv.key, 'base64').toString());
}

describe('lock and election routes of the JSON gateway', () => {
  beforeAll(async () => {
    api = await startTestApi();
    for (const id of [11, 12]) await (await post('/v3/lease/grant', { TTL: 600, ID: id })).json();
  });
  afterAll(async () => {
    await api.close();
  });

  it('serializes two lockers, and a waiter that goes away leaves the line', async () => {
    const first = await post('/v3/lock/lock', { name: b('gate'), lease: '11' });
    expect(first.status).toBe(200);
    const held = (await first.json()) as { key: string };
    expect(Buffer.from(held.key, 'base64').toString()).toBe('gate/b');
    const abort = new AbortController();
    const waiting = post('/v3/lock/lock', { name: b('gate'), lease: 12 }, abort.signal);
    // The waiter's key appears (it is in line), then goes when it stops waiting.
    for (;;) {
      if ((await keysUnder('gate/')).length === 2) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    abort.abort();
    await expect(waiting).rejects.toThrow();
    for (;;) {
      if ((await keysUnder('gate/')).length === 1) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(await keysUnder('gate/')).toEqual(['gate/b']);
    const unlocked = await post('/v3/lock/unlock', { key: held.key });
    expect(unlocked.status).toBe(200);
    expect(await keysUnder('gate/')).toEqual([]);
  });

  it("reads bodies as their .proto messages and refuses what etcd's messages do not have", async () => {
    // lowerCamel names and a nested LeaderKey with int64s as numbers.
    const campaign = await post('/v3/election/campaign', { name: b('poll'), lease: 11 });
    const { leader } = (await campaign.json()) as { leader: Record<string, string> };
    const proclaim = await post('/v3/election/proclaim', {
      leader: { ...leader, rev: Number(leader.rev) },
      value: b('v'),
    });
    expect(proclaim.status).toBe(200);
    const unknown = await post('/v3/election/leader', { name: b('poll'), colour: 'red' });
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toMatchObject({ code: 3, field: 'colour' });
    const badLeader = await post('/v3/election/resign', { leader: { rev: 'x' } });
    expect(badLeader.status).toBe(400);
    expect(await badLeader.json()).toMatchObject({ code: 3, field: 'leader.rev' });
    // etcd's lock service makes a session lease when none is given; kv-node asks for one.
    const noLease = await post('/v3/lock/lock', { name: b('gate') });
    expect(noLease.status).toBe(400);
    expect(await noLease.json()).toMatchObject({ code: 3 });
    const resigned = await post('/v3/election/resign', { leader });
    expect(resigned.status).toBe(200);
    const none = await post('/v3/election/leader', { name: b('poll') });
    expect(none.status).toBe(500);
    expect(await none.json()).toMatchObject({ error: 'election: no leader', code: 2 });
  });
});
