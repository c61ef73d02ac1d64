import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KvStore } from '../store/kv-store.js';
import type { WatchMessage, WatchRequest } from './watch-hub.js';
import { WatchHub } from './watch-hub.js';

const watchAll = (overrides: Partial<WatchRequest> = {}): WatchRequest => ({
  key: '\0',
  rangeEnd: '\0',
  startRevision: 0,
  prevKv: false,
  noPut: false,
  noDelete: false,
  progressNotify: false,
  ...overrides,
});

/** A hub whose deferred tasks run only when `runTasks` is called (a virtual event loop). */
function harness(queueCapacity = 4) {
  const store = new KvStore();
  const tasks: (() => void)[] = [];
  const hub = new WatchHub(store, { queueCapacity, schedule: (task) => tasks.push(task) });
  const runTasks = (): void => {
    while (tasks.length > 0) (tasks.shift() as () => void)();
  };
  return { store, hub, runTasks };
}

const put = (store: KvStore, key: string, value: string): void => {
  store.put({ key, value, prevKv: false });
};

function drain(take: () => WatchMessage | undefined): WatchMessage[] {
  const taken: WatchMessage[] = [];
  for (let message = take(); message !== undefined; message = take()) taken.push(message);
  return taken;
}

describe('WatchHub', () => {
  it('reports the events of one transaction in one message, with filters and prev_kv', () => {
    const { store, hub } = harness();
    put(store, 'a', '0');
    const all = hub.watch(watchAll({ prevKv: true }), () => undefined);
    const deletesOnly = hub.watch(watchAll({ noPut: true }), () => undefined);
    const justB = hub.watch(watchAll({ key: 'b', rangeEnd: '' }), () => undefined);
    store.txn({
      compare: [],
      success: [
        { type: 'put', request: { key: 'b', value: '1', prevKv: false } },
        { type: 'deleteRange', request: { key: 'a', rangeEnd: '', prevKv: false } },
      ],
      failure: [],
    });
    expect(all.take()).toEqual({
      kind: 'events',
      revision: 3,
      headerRevision: 3,
      events: [
        {
          type: 'put',
          kv: { key: 'b', value: '1', createRevision: 3, modRevision: 3, version: 1 },
        },
        {
          type: 'delete',
          kv: { key: 'a', value: '', createRevision: 0, modRevision: 3, version: 0 },
          prevKv: { key: 'a', value: '0', createRevision: 2, modRevision: 2, version: 1 },
        },
      ],
    });
    expect(
      drain(() => deletesOnly.take()).flatMap((message) =>
        message.kind === 'events' ? message.events.map((event) => event.type) : [],
      ),
    ).toEqual(['delete']);
    expect(drain(() => justB.take())).toHaveLength(1);
  });

  it('a watcher that never reads holds a bounded queue, then catches up without gap or duplicate', () => {
    const { store, hub, runTasks } = harness(4);
    const stalled = hub.watch(watchAll(), () => undefined);
    for (let round = 0; round < 1000; round++) put(store, `k${round % 7}`, `${round}`);
    runTasks();
    // The apply loop went on; the watcher holds no more than its queue.
    expect(stalled.queued).toBe(4);
    expect(stalled.synced).toBe(false);
    const revisions: number[] = [];
    for (let message = stalled.take(); message !== undefined; message = stalled.take()) {
      if (message.kind === 'events') revisions.push(message.revision);
      runTasks();
      expect(stalled.queued).toBeLessThanOrEqual(4);
    }
    expect(revisions).toEqual(Array.from({ length: 1000 }, (_, index) => index + 2));
    expect(stalled.synced).toBe(true);
    put(store, 'live', '1');
    expect(stalled.take()).toMatchObject({ kind: 'events', revision: 1002 });
  });

  it('cancels a watcher with the compact revision when what it still needs is compacted', () => {
    const { store, hub, runTasks } = harness(2);
    const stalled = hub.watch(watchAll(), () => undefined);
    for (let round = 0; round < 10; round++) put(store, 'k', `${round}`);
    store.compact(8);
    stalled.take();
    stalled.take();
    runTasks();
    expect(stalled.take()).toEqual({ kind: 'canceled', compactRevision: 8 });
    expect(hub.size).toBe(0);
    // A watch that starts below the compact revision is cancelled the same way.
    const late = hub.watch(watchAll({ startRevision: 3 }), () => undefined);
    runTasks();
    expect(late.take()).toEqual({ kind: 'canceled', compactRevision: 8 });
    // At the compact revision itself, its events are still known.
    const atCompact = hub.watch(watchAll({ startRevision: 8 }), () => undefined);
    runTasks();
    expect(atCompact.take()).toMatchObject({ kind: 'events', revision: 8 });
  });

  it('delivers every revision in order, once, to each watcher of a shared range, however each lags (random runs)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({ kind: fc.constant('put' as const), key: fc.constantFrom('a', 'b', 'c') }),
            fc.record({ kind: fc.constant('delete' as const), key: fc.constantFrom('a', 'b') }),
            fc.record({
              kind: fc.constant('take' as const),
              watcher: fc.nat({ max: 2 }),
              count: fc.nat({ max: 5 }),
            }),
            fc.constant({ kind: 'tick' as const }),
          ),
          { maxLength: 120 },
        ),
        fc.nat({ max: 3 }),
        (steps, startOffset) => {
          const { store, hub, runTasks } = harness(3);
          put(store, 'a', 'first');
          const start = Math.max(1, store.revision - startOffset);
          // Three watchers of the same range (one group while synced); the last starts at a
          // revision still ahead, so it waits in the group without taking what comes before.
          const starts = [start, start, store.revision + 2];
          const watchers = starts.map((startRevision) =>
            hub.watch(watchAll({ startRevision }), () => undefined),
          );
          const seen: number[][] = watchers.map(() => []);
          const take = (index: number): void => {
            const message = watchers[index]?.take();
            if (message?.kind === 'events') seen[index]?.push(message.revision);
          };
          for (const step of steps) {
            if (step.kind === 'put') put(store, step.key, 'v');
            else if (step.kind === 'delete') {
              store.deleteRange({ key: step.key, rangeEnd: '', prevKv: false });
            } else if (step.kind === 'take') {
              for (let count = 0; count < step.count; count++) take(step.watcher);
            } else runTasks();
          }
          for (
            let guard = 0;
            guard < 10_000 && !watchers.every((watcher) => watcher.synced && watcher.queued === 0);
            guard++
          ) {
            for (const index of watchers.keys()) take(index);
            runTasks();
          }
          starts.forEach((startRevision, index) => {
            const expected: number[] = [];
            for (
              let revision = Math.max(startRevision, 2);
              revision <= store.revision;
              revision++
            ) {
              expected.push(revision);
            }
            expect(seen[index]).toEqual(expected);
          });
        },
      ),
      { numRuns: 300 },
    );
  });
});
