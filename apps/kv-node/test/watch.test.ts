/**
 * Watch with real member processes: a follower serves watches from its applied state; a watcher
 * that never reads does not stop writes and, once it reads, gets every revision in order with no
 * gap and no duplicate (caught up from history); the Server-Sent Events stream resumes after a
 * disconnect from `Last-Event-ID` without losing an event; a watch from a compacted revision is
 * cancelled with the compact revision.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProcessCluster, ProcessMember } from './support/process-cluster.js';
import type { StartedCluster } from './support/started-cluster.js';
import { startedCluster } from './support/started-cluster.js';

const b = (text: string): string => Buffer.from(text).toString('base64');
let started: StartedCluster | undefined;
let cluster: ProcessCluster;
let leader: ProcessMember;
let follower: ProcessMember;

beforeAll(async () => {
  started = await startedCluster(3);
  cluster = started.cluster;
  leader = await cluster.leader();
  follower = cluster.members.find((member) => member !== leader) as ProcessMember;
}, 120_000);

afterAll(() => started?.stop());

async function post(
  member: ProcessMember,
  path: string,
  body: unknown,
): Promise<Record<string, unknown>> {
  const response = await fetch(`${member.clientUrl}${path}`, {
    method: 'POST',
    body: JSON.stringify(body),
  });
  return (await response.json()) as Record<string, unknown>;
}

const revisionOf = (json: Record<string, unknown>): number =>
  Number((json.header as { revision: string }).revision);

/** Reads a streamed response line by line (or SSE event by event with `separator`). */
function reader(response: Response, separator = '\n') {
  const stream = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  return async (): Promise<string> => {
    for (;;) {
      const end = buffered.indexOf(separator);
      if (end >= 0) {
        const text = buffered.slice(0, end);
        buffered = buffered.slice(end + separator.length);
        return text;
      }
      const { value, done } = await stream.read();
      if (done) throw new Error(`stream ended; buffered: ${buffered}`);
      buffered += decoder.decode(value, { stream: true });
    }
  };
}

interface WatchResult {
  result: {
    header: { revision?: string };
    created?: boolean;
    canceled?: boolean;
    compact_revision?: string;
    events?: { type?: string; kv: { key: string; mod_revision: string; value?: string } }[];
  };
}

describe('watch across real members', { timeout: 120_000 }, () => {
  it('a follower serves a watch from its applied state', async () => {
    const abort = new AbortController();
    const response = await fetch(`${follower.clientUrl}/v3/watch`, {
      method: 'POST',
      body: JSON.stringify({ create_request: { key: b('f/'), range_end: b('f0') } }),
      signal: abort.signal,
    });
    const next = reader(response);
    expect((JSON.parse(await next()) as WatchResult).result.created).toBe(true);
    const put = await post(leader, '/v3/kv/put', { key: b('f/1'), value: b('one') });
    const event = JSON.parse(await next()) as WatchResult;
    expect(event.result.events).toEqual([
      {
        kv: {
          key: b('f/1'),
          create_revision: String(revisionOf(put)),
          mod_revision: String(revisionOf(put)),
          version: '1',
          value: b('one'),
        },
      },
    ]);
    abort.abort();
  });

  it('a watcher that never reads does not stop writes, then catches up without gap or duplicate', async () => {
    const abort = new AbortController();
    const response = await fetch(`${follower.clientUrl}/v3/watch`, {
      method: 'POST',
      body: JSON.stringify({ create_request: { key: b('s/'), range_end: b('s0') } }),
      signal: abort.signal,
    });
    // Not read while 1500 puts of 8 KiB (12 MB) go through: far more than the socket and queue hold.
    const value = b('x'.repeat(8192));
    let first = 0;
    let last = 0;
    for (let round = 0; round < 1500; round += 20) {
      const puts = await Promise.all(
        Array.from({ length: 20 }, (_, index) =>
          post(leader, '/v3/kv/put', { key: b(`s/${(round + index) % 13}`), value }),
        ),
      );
      for (const put of puts) {
        const revision = revisionOf(put);
        first = first === 0 ? revision : Math.min(first, revision);
        last = Math.max(last, revision);
      }
    }
    const next = reader(response);
    expect((JSON.parse(await next()) as WatchResult).result.created).toBe(true);
    const seen: number[] = [];
    while (seen.length < 1500) {
      const result = (JSON.parse(await next()) as WatchResult).result;
      for (const event of result.events ?? []) seen.push(Number(event.kv.mod_revision));
    }
    abort.abort();
    expect(seen).toEqual(Array.from({ length: last - first + 1 }, (_, index) => first + index));
  });

  it('Server-Sent Events resume from Last-Event-ID without losing an event', async () => {
    const open = async (lastEventId?: string) => {
      const abort = new AbortController();
      const response = await fetch(`${follower.clientUrl}/v1/watch?prefix=e/`, {
        headers: lastEventId === undefined ? {} : { 'last-event-id': lastEventId },
        signal: abort.signal,
      });
      expect(response.headers.get('content-type')).toBe('text/event-stream');
      return { next: reader(response, '\n\n'), close: () => abort.abort() };
    };
    const parse = (text: string) => {
      const fields = Object.fromEntries(
        text
          .split('\n')
          .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2)]),
      );
      return {
        id: Number(fields.id),
        data: JSON.parse(fields.data as string) as { events: { key: string; value: string }[] },
      };
    };
    const first = await open();
    await first.next(); // the comment naming the start revision
    for (let index = 0; index < 3; index++) {
      await post(leader, '/v3/kv/put', { key: b(`e/${index}`), value: b(`v${index}`) });
    }
    const received = [parse(await first.next()), parse(await first.next())];
    first.close();
    // Written while disconnected: the resumed stream must still deliver them, in order.
    for (let index = 3; index < 6; index++) {
      await post(leader, '/v3/kv/put', { key: b(`e/${index}`), value: b(`v${index}`) });
    }
    const second = await open(String(received[1]?.id));
    await second.next();
    for (let index = 2; index < 6; index++) received.push(parse(await second.next()));
    second.close();
    expect(received.map((event) => event.data.events[0]?.key)).toEqual([
      'e/0',
      'e/1',
      'e/2',
      'e/3',
      'e/4',
      'e/5',
    ]);
    const ids = received.map((event) => event.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(6);
  });

  it('cancels a watch from a compacted revision with the compact revision', async () => {
    const put = await post(leader, '/v3/kv/put', { key: b('c'), value: b('1') });
    await post(leader, '/v3/kv/compaction', { revision: revisionOf(put) });
    const abort = new AbortController();
    const response = await fetch(`${follower.clientUrl}/v3/watch`, {
      method: 'POST',
      body: JSON.stringify({ create_request: { key: b('c'), start_revision: 2 } }),
      signal: abort.signal,
    });
    const next = reader(response);
    expect((JSON.parse(await next()) as WatchResult).result.created).toBe(true);
    const canceled = (JSON.parse(await next()) as WatchResult).result;
    expect(canceled).toMatchObject({ canceled: true, compact_revision: String(revisionOf(put)) });
    abort.abort();
  });
});
