/**
 * Watch benchmark of the apply path: how much WATCHERS watchers on one prefix (default 1,000)
 * cost each write as it is applied. Measures puts per second of a store with no watcher, with
 * watchers whose consumer takes every message (each put is offered to every synced watcher), and
 * with watchers that never read (their queues fill, they become unsynced and cost nothing more).
 * Output: one JSON object on stdout. Run with `pnpm bench:watch`.
 */

import { KvStore } from '../src/store/kv-store.js';
import { WatchHub } from '../src/watch/watch-hub.js';
import type { Watcher } from '../src/watch/watch-hub.js';

const watcherCount = Number(process.env.WATCHERS ?? 1000);
const puts = Number(process.env.PUTS ?? 100_000);
const value = 'v'.repeat(100);

function run(mode: 'none' | 'reading' | 'stalled'): number {
  const store = new KvStore();
  // Catch-up never runs here: the reading consumers keep every watcher synced.
  const hub = new WatchHub(store, { schedule: () => undefined });
  const watchers: Watcher[] = [];
  if (mode !== 'none') {
    for (let index = 0; index < watcherCount; index++) {
      const request = {
        key: 'app/',
        rangeEnd: 'app0',
        startRevision: 0,
        prevKv: false,
        noPut: false,
        noDelete: false,
        progressNotify: false,
      };
      watchers.push(hub.watch(request, () => undefined));
    }
  }
  const started = performance.now();
  for (let round = 0; round < puts; round++) {
    store.put({ key: `app/${round % 1000}`, value, prevKv: false });
    if (mode === 'reading') for (const watcher of watchers) watcher.take();
  }
  const seconds = (performance.now() - started) / 1000;
  hub.close();
  return Math.round(puts / seconds);
}

const results = { none: 0, reading: 0, stalled: 0 };
for (const mode of ['none', 'reading', 'stalled', 'none', 'reading', 'stalled'] as const) {
  results[mode] = Math.max(results[mode], run(mode));
}
process.stdout.write(
  `${JSON.stringify(
    {
      node: process.version,
      watchers: watcherCount,
      puts,
      putsPerSecond: {
        noWatcher: results.none,
        readingWatchers: results.reading,
        stalledWatchers: results.stalled,
      },
    },
    null,
    2,
  )}\n`,
);
