import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { checkPoisonAnswered } from './checks.js';
import type { PoisonKind } from './poison-requests.js';
import { allPoisonKinds, defaultPoisonKinds, poisonRequests } from './poison-requests.js';
import { classify, runPoisonWorkload } from './poison-workload.js';
import { SeededRandom } from './seeded-random.js';

const servers: ReturnType<typeof createServer>[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

/** A server that answers every request with `status` and `body`, counting bodies by path. */
async function answering(status: number, body: string): Promise<string> {
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(body);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('poison requests', () => {
  it('builds the nested txn of issue 23 finding 1 within the request size limit', () => {
    const body = poisonRequests['nested-txn'].body();
    expect(body.length).toBeGreaterThan(800_000);
    expect(body.length).toBeLessThan(1536 * 1024);
    const parsed = JSON.parse(body) as { success: { request_txn?: { success: unknown[] } }[] };
    expect(parsed.success).toHaveLength(128);
    expect(parsed.success[1]?.request_txn?.success).toHaveLength(128);
  });

  it('nests the deep txn 5,000 levels around one range, as valid JSON', () => {
    const body = poisonRequests['deep-nesting'].body();
    expect(body.startsWith('{"success":[{"request_txn":{"success":[{"request_txn":')).toBe(true);
    expect(body.split('request_txn').length - 1).toBe(5000);
    expect(body.endsWith('}]}}]}')).toBe(true);
    // Well-formed JSON, which Node's own parser takes at this depth (so must a server's).
    expect(() => JSON.parse(body) as unknown).not.toThrow();
  });

  it('sends every kind by default, the nested txn included', () => {
    expect(defaultPoisonKinds).toEqual(allPoisonKinds);
    expect(defaultPoisonKinds).toContain('nested-txn');
  });

  it('classifies answers: expected, unanswered during faults, wrong', () => {
    const refused = poisonRequests['bad-base64'];
    expect(classify(refused, { kind: 'answer', status: 400, text: '{}' })).toBe('expected');
    expect(classify(refused, { kind: 'answer', status: 503, text: '{}' })).toBe('unanswered');
    expect(classify(refused, { kind: 'none', error: 'ECONNREFUSED' })).toBe('unanswered');
    expect(classify(refused, { kind: 'answer', status: 200, text: '{}' })).toBe('wrong');
    const bounded = poisonRequests['huge-range-small-limit'];
    expect(classify(bounded, { kind: 'answer', status: 200, text: '{"kvs":[{}]}' })).toBe(
      'expected',
    );
    expect(classify(bounded, { kind: 'answer', status: 200, text: '{"kvs":[{},{}]}' })).toBe(
      'wrong',
    );
    expect(classify(bounded, { kind: 'answer', status: 200, text: 'not json' })).toBe('wrong');
  });

  it('counts every poison sent and fails the check when one is accepted', async () => {
    const accepting = await answering(200, '{}');
    let stop = false;
    const run = runPoisonWorkload({
      endpoints: [accepting],
      kinds: ['bad-base64', 'malformed-json'] satisfies PoisonKind[],
      workers: 2,
      random: new SeededRandom(1),
      intervalMs: 5,
      stopping: () => stop,
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    stop = true;
    const result = await run;
    const counts = Object.values(result.byKind);
    expect(counts.reduce((sum, entry) => sum + entry.sent, 0)).toBeGreaterThan(2);
    expect(counts.every((entry) => entry.wrong === entry.sent)).toBe(true);
    expect(result.wrongAnswers[0]).toMatch(/HTTP 200/);
    expect(checkPoisonAnswered(result).passed).toBe(false);
  });

  it('counts a refusal with the wrong status as wrong', async () => {
    const refusing = await answering(400, '{"definite":true}');
    let stop = false;
    const run = runPoisonWorkload({
      endpoints: [refusing],
      kinds: ['bad-base64', 'oversized-body'],
      workers: 1,
      random: new SeededRandom(2),
      intervalMs: 5,
      stopping: () => stop,
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    stop = true;
    const result = await run;
    // A 400 is right for a bad key; an oversized body must get 413.
    const badKey = result.byKind['bad-base64'];
    const oversized = result.byKind['oversized-body'];
    expect(badKey?.sent).toBeGreaterThan(0);
    expect(badKey?.wrong).toBe(0);
    expect(oversized?.sent).toBeGreaterThan(0);
    expect(oversized?.wrong).toBe(oversized?.sent);
  });

  it('fails the check for a kind sent often but never answered as expected', () => {
    const report = checkPoisonAnswered({
      byKind: { 'oversized-body': { sent: 6, expected: 0, unanswered: 6, wrong: 0 } },
      wrongAnswers: [],
    });
    expect(report.passed).toBe(false);
    expect(report.detail).toMatch(/oversized-body \(6 sent\)/);
    expect(
      checkPoisonAnswered({
        byKind: { 'bad-base64': { sent: 6, expected: 5, unanswered: 1, wrong: 0 } },
        wrongAnswers: [],
      }).passed,
    ).toBe(true);
  });
});
