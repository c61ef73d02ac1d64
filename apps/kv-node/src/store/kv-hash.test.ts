import { describe, expect, it } from 'vitest';
import { hashKeyValues } from './kv-hash.js';
import { KvStore } from './kv-store.js';
import { CompactedRevisionError, FutureRevisionError } from './revision-errors.js';

const put = (store: KvStore, key: string, value: string): void => {
  store.put({ key, value, prevKv: false });
};
const del = (store: KvStore, key: string): void => {
  store.deleteRange({ key, rangeEnd: '', prevKv: false });
};

/** The same writes, applied to a fresh store (as every member applies the same log). */
function replica(): KvStore {
  const store = new KvStore();
  put(store, 'a', '1');
  put(store, 'b', '2');
  put(store, 'a', '3');
  del(store, 'b');
  return store;
}

describe('hashKeyValues', () => {
  it('is equal on stores that applied the same writes, at the current revision', () => {
    const first = hashKeyValues(replica());
    expect(first).toEqual(hashKeyValues(replica()));
    expect(first.hashRevision).toBe(5);
    expect(first.compactRevision).toBe(0);
  });

  it('changes when a value, a delete or a key differs', () => {
    const base = hashKeyValues(replica()).hash;
    const otherValue = replica();
    put(otherValue, 'c', '4');
    const otherWrite = new KvStore();
    put(otherWrite, 'a', '1');
    put(otherWrite, 'b', '2');
    put(otherWrite, 'a', '9');
    del(otherWrite, 'b');
    expect(hashKeyValues(otherWrite).hash).not.toBe(base);
    expect(hashKeyValues(otherValue, 5).hash).toBe(base);
    expect(hashKeyValues(otherValue).hash).not.toBe(base);
  });

  it('hashes a past revision as it was then', () => {
    const store = new KvStore();
    put(store, 'a', '1');
    put(store, 'b', '2');
    const atThree = hashKeyValues(store).hash;
    put(store, 'a', '3');
    del(store, 'b');
    expect(hashKeyValues(store, 3)).toEqual({ hash: atThree, compactRevision: 0, hashRevision: 3 });
  });

  it('refuses a future or compacted revision', () => {
    const store = replica();
    expect(() => hashKeyValues(store, 6)).toThrow(FutureRevisionError);
    store.compact(4);
    expect(() => hashKeyValues(store, 3)).toThrow(CompactedRevisionError);
    expect(hashKeyValues(store).compactRevision).toBe(4);
  });
});
