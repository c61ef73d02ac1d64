/**
 * The watcher side of `watch-fanout.bench.ts`, run as child processes (so parsing a thousand
 * streams does not slow the putters' event loop): opens WATCHERS etcd gateway streams
 * (`POST /v3/watch`, one watcher per stream and connection) on a prefix from a start revision,
 * spread round-robin over the endpoints, counts every event each watcher gets and the latency
 * from the put's send time (the put's value starts with its wall-clock send time in ms) to the
 * event's arrival. Talks to its parent over IPC: `ready` once every watch is created, then on
 * `{ drain: expected }` waits (at most DRAIN_SECONDS) until every watcher has `expected` events
 * and answers with its counts and latency histogram.
 */

import { request } from 'node:http';

const endpoints = (process.env.ENDPOINTS ?? '').split(',');
const watcherCount = Number(process.env.WATCHERS ?? 500);
const prefix = process.env.PREFIX ?? 'w/';
const startRevision = process.env.START_REVISION ?? '0';
const drainSeconds = Number(process.env.DRAIN_SECONDS ?? 60);
/**
 * Keep each request body open after the create request, as a client that may send cancel or
 * more create requests on the stream does (default: end it, a create-only client).
 */
const keepRequestOpen = process.env.KEEP_REQUEST_OPEN === '1';
const openedAt = performance.now();

/** Latency histogram: 0.1 ms buckets up to 60 s (the last bucket holds anything later). */
const bucketMs = 0.1;
const histogram = new Uint32Array(600_001);
const counts = new Uint32Array(watcherCount);
let created = 0;
const failures: string[] = [];
const now = (): number => performance.timeOrigin + performance.now();

const rangeEnd = (() => {
  const bytes = Buffer.from(prefix);
  bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) + 1;
  return bytes.toString('base64');
})();
const valueMarker = '"value":"';

function open(watcher: number): Promise<void> {
  const endpoint = endpoints[watcher % endpoints.length] as string;
  return new Promise((resolve) => {
    let ready = false;
    const outgoing = request(`${endpoint}/v3/watch`, {
      method: 'POST',
      agent: false,
      headers: { 'content-type': 'application/json' },
    });
    outgoing.on('response', (response) => {
      response.setEncoding('latin1');
      let buffered = '';
      response.on('data', (chunk: string) => {
        const arrived = now();
        buffered += chunk;
        let start = 0;
        for (let end = buffered.indexOf('\n'); end >= 0; end = buffered.indexOf('\n', start)) {
          if (!ready) {
            ready = true;
            created++;
            resolve();
          }
          // Each put's value: base64 of its send time; only event lines carry a "value".
          for (
            let at = buffered.indexOf(valueMarker, start);
            at >= 0 && at < end;
            at = buffered.indexOf(valueMarker, at + 1)
          ) {
            const from = at + valueMarker.length;
            const value = buffered.slice(from, buffered.indexOf('"', from));
            const sentAt = Number.parseFloat(Buffer.from(value, 'base64').toString('latin1'));
            const bucket = Math.min(
              histogram.length - 1,
              Math.round((arrived - sentAt) / bucketMs),
            );
            const index = Math.max(0, bucket);
            histogram[index] = (histogram[index] as number) + 1;
            counts[watcher] = (counts[watcher] as number) + 1;
          }
          start = end + 1;
        }
        buffered = buffered.slice(start);
      });
      const ended = (why: string): void => {
        const afterS = ((performance.now() - openedAt) / 1000).toFixed(1);
        failures.push(`watcher ${watcher}: ${why} ${afterS} s after the first stream opened`);
      };
      response.on('error', (error) => ended(error.message));
      response.on('aborted', () => ended('aborted'));
      response.on('end', () => ended('stream ended'));
    });
    outgoing.on('error', (error) => {
      failures.push(`watcher ${watcher}: ${error.message}`);
      if (!ready) resolve();
    });
    outgoing[keepRequestOpen ? 'write' : 'end'](
      JSON.stringify({
        create_request: {
          key: Buffer.from(prefix).toString('base64'),
          range_end: rangeEnd,
          start_revision: startRevision,
        },
      }),
    );
  });
}

// Opened 50 at a time, so the members are not hit by a thousand handshakes at once.
for (let first = 0; first < watcherCount; first += 50) {
  const batch: Promise<void>[] = [];
  for (let watcher = first; watcher < Math.min(watcherCount, first + 50); watcher++) {
    batch.push(open(watcher));
  }
  await Promise.all(batch);
}
process.send?.({ ready: created, failures: failures.slice(0, 5) });

process.on('message', (message: { drain?: number }) => {
  if (message.drain === undefined) return;
  const expected = message.drain;
  const deadline = performance.now() + drainSeconds * 1000;
  const check = (): void => {
    const complete = counts.every((count) => count >= expected);
    if (!complete && performance.now() < deadline) {
      setTimeout(check, 100);
      return;
    }
    const buckets: [number, number][] = [];
    for (const [index, count] of histogram.entries()) if (count > 0) buckets.push([index, count]);
    process.send?.(
      {
        counts: Array.from(counts),
        buckets,
        bucketMs,
        failures: failures.slice(0, 5),
        failureCount: failures.length,
      },
      () => process.exit(0),
    );
  };
  check();
});
