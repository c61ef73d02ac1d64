import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KvStore } from './kv-store.js';
import type { KeyValue, RangeRequest, RangeView } from './kv-types.js';
import { rangeRequest } from './kv-types.js';

/** Keys over a small alphabet, so that ranges and stored keys meet often. */
const key = fc.string({ unit: fc.constantFrom('a', 'b', 'c', '\0', '\xff'), maxLength: 4 });

const request: fc.Arbitrary<RangeRequest> = fc
  .record({
    key,
    rangeEnd: fc.oneof(key, fc.constant('\0'), fc.constant('')),
    limit: fc.oneof(fc.constant(0), fc.nat({ max: 400 })),
    keysOnly: fc.boolean(),
    countOnly: fc.boolean(),
    sortOrder: fc.constantFrom('none' as const, 'ascend' as const, 'descend' as const),
    sortTarget: fc.constantFrom('key' as const, 'key' as const, 'mod' as const),
    minModRevision: fc.oneof(fc.constant(0), fc.nat({ max: 50 })),
  })
  .map((fields) => ({ ...fields, maxModRevision: 0, minCreateRevision: 0, maxCreateRevision: 0 }));

function materialize(view: RangeView): {
  kvs: KeyValue[];
  more: boolean;
  count: number;
  revision: number;
} {
  const kvs = Array.from({ length: view.length }, (_, index) => view.keyValue(index));
  return { kvs, more: view.more, count: view.count, revision: view.revision };
}

function storeWith(keys: readonly string[]): KvStore {
  const store = new KvStore();
  keys.forEach((each, index) => store.put({ key: each, value: `v${index}`, prevKv: false }));
  return store;
}

describe('KvStore.rangeView', () => {
  it('answers exactly what range answers, over stores that span many leaves', () => {
    fc.assert(
      fc.property(
        fc.array(key, { maxLength: 600, size: 'max' }),
        fc.array(request, { maxLength: 8 }),
        (keys, requests) => {
          const store = storeWith(keys);
          for (const each of requests) {
            expect(materialize(store.rangeView(each))).toEqual(store.range(each));
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('is fixed when taken: later writes and deletes do not change it', () => {
    const store = storeWith(
      Array.from({ length: 1000 }, (_, index) => `k${String(index).padStart(4, '0')}`),
    );
    const all = rangeRequest('k', { rangeEnd: 'l' });
    const before = store.range(all);
    const view = store.rangeView(all);
    store.put({ key: 'k0500', value: 'changed', prevKv: false });
    store.put({ key: 'k0500a', value: 'new', prevKv: false });
    store.deleteRange({ key: 'k0100', rangeEnd: 'k0200', prevKv: false });
    expect(materialize(view)).toEqual(before);
    expect(store.range(all).count).toBe(901);
  });
});
