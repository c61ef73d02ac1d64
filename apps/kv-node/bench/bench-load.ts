/**
 * Loading a store before a benchmark measures it (`large-data.bench.ts`, `growth.bench.ts`):
 * keys `benchKey(0)` to `benchKey(keys - 1)` written with txns of 128 puts, several in flight,
 * sent the same way to kv-node and etcd 3.4.
 */

import type { BenchClient } from './kv-bench.js';
import { benchKey } from './kv-bench.js';

/** etcd's defaults, which kv-node shares: at most 128 operations and 1.5 MiB per request. */
export const OPS_PER_TXN = 128;
const MAX_REQUEST_BYTES = 1.5 * 1024 * 1024;

const b64 = (text: string): string => Buffer.from(text).toString('base64');
const sleep = (milliseconds: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, milliseconds));

/** Posts `body` to `path`, trying up to five times: a lost connection should not end the load. */
export async function postWithRetries(
  client: BenchClient,
  slot: number,
  path: string,
  body: string,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    let failure: string;
    try {
      const response = await client.post(slot, path, body);
      if (response.status === 200) return;
      failure = `${response.status} ${response.body.slice(0, 200)}`;
    } catch (error) {
      failure = error instanceof Error ? error.message : String(error);
    }
    if (attempt >= 5) throw new Error(`${path}: ${failure} after ${attempt} attempts`);
    await sleep(200 * attempt);
  }
}

/** How far a load has gone; the caller may set `stop` to end it early (e.g. memory running out). */
export interface LoadProgress {
  /** Keys written by completed txns. */
  loaded: number;
  stop: boolean;
}

/**
 * Writes keys 0 to `keys - 1` with values of `valueBytes` through `client`, in txns of 128 puts
 * with `concurrency` in flight (the client's slots 0 to `concurrency - 1`), until done or until
 * `progress.stop`. Resolves to the number of keys written: they are keys 0 to that number - 1.
 */
export async function loadKeys(
  client: BenchClient,
  keys: number,
  valueBytes: number,
  concurrency: number,
  progress: LoadProgress = { loaded: 0, stop: false },
): Promise<number> {
  const value = b64('x'.repeat(valueBytes));
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, slot) => {
      while (next < keys && !progress.stop) {
        const first = next;
        const last = Math.min(keys, first + OPS_PER_TXN);
        next = last;
        const success = [];
        for (let index = first; index < last; index++) {
          success.push({ request_put: { key: b64(benchKey(index)), value } });
        }
        const body = JSON.stringify({ success });
        if (Buffer.byteLength(body) > MAX_REQUEST_BYTES) {
          throw new Error(`a txn of ${last - first} puts of ${valueBytes} B is over 1.5 MiB`);
        }
        await postWithRetries(client, slot, '/v3/kv/txn', body);
        progress.loaded += last - first;
      }
    }),
  );
  // Every txn sent has completed, and they covered keys 0 to next - 1.
  return next;
}
