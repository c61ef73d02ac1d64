import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KvStore } from './kv-store.js';
import type { KeyValue, RequestOp } from './kv-types.js';
import { rangeRequest } from './kv-types.js';
import { unpackHeader, valueOf } from './packed-entry.js';
import { CompactedRevisionError, FutureRevisionError } from './revision-errors.js';

const everything = rangeRequest('\0', { rangeEnd: '\0' });

describe('KvStore history', () => {
  it('reads a key as of each revision across generations ended by deletes', () => {
    const store = new KvStore();
    store.put({ key: 'a', value: '1', prevKv: false }); // 2
    store.put({ key: 'a', value: '2', prevKv: false }); // 3
    store.deleteRange({ key: 'a', rangeEnd: '', prevKv: false }); // 4
    store.put({ key: 'a', value: '3', prevKv: false }); // 5
    const at = (revision: number): KeyValue[] => store.range(rangeRequest('a'), revision).kvs;
    expect(at(1)).toEqual([]);
    expect(at(2)).toEqual([
      { key: 'a', value: '1', createRevision: 2, modRevision: 2, version: 1 },
    ]);
    expect(at(3)).toEqual([
      { key: 'a', value: '2', createRevision: 2, modRevision: 3, version: 2 },
    ]);
    expect(at(4)).toEqual([]);
    expect(at(5)).toEqual([
      { key: 'a', value: '3', createRevision: 5, modRevision: 5, version: 1 },
    ]);
    expect(store.range(rangeRequest('a'), 4).revision).toBe(5);
    expect(() => store.range(rangeRequest('a'), 6)).toThrow(FutureRevisionError);
  });

  it('knows the lease each kept entry was put with, as of its revision', () => {
    const store = new KvStore();
    store.put({ key: 'k', value: '1', prevKv: false, lease: '7' }); // 2
    store.put({ key: 'k', value: '2', prevKv: false }); // 3: detached
    store.txn({
      compare: [],
      success: [
        { type: 'put', request: { key: 'k', value: '3', prevKv: false } },
        // The last put of a key in a transaction decides its entry's lease.
        { type: 'put', request: { key: 'k', value: '4', prevKv: false, lease: '9' } },
      ],
      failure: [],
    }); // 4
    store.deleteRange({ key: 'k', rangeEnd: '', prevKv: false }); // 5
    const leases = (revision: number) =>
      store.changesAt(revision).map(({ entryLease, previousLease }) => [entryLease, previousLease]);
    expect(leases(2)).toEqual([['7', undefined]]);
    expect(leases(3)).toEqual([[undefined, '7']]);
    expect(leases(4)).toEqual([['9', undefined]]);
    expect(leases(5)).toEqual([[undefined, '9']]);
    // Compaction keeps what revisions from the compact revision on still show.
    store.compact(4);
    expect(leases(4)).toEqual([['9', undefined]]);
    expect(leases(5)).toEqual([[undefined, '9']]);
  });

  it('forgets what compaction drops and refuses reads below the compact revision', () => {
    const store = new KvStore();
    for (let value = 0; value < 10; value++) {
      store.put({ key: 'hot', value: String(value), prevKv: false });
    }
    store.put({ key: 'cold', value: 'c', prevKv: false }); // 12
    store.deleteRange({ key: 'hot', rangeEnd: '', prevKv: false }); // 13
    store.compact(12);
    expect(store.compactRevision).toBe(12);
    expect(() => store.range(everything, 11)).toThrow(CompactedRevisionError);
    expect(store.range(everything, 12).kvs.map((kv) => kv.key)).toEqual(['cold', 'hot']);
    expect(() => store.compact(12)).toThrow(CompactedRevisionError);
    store.compact(13);
    // Nothing below the current state is needed any more: only the current values remain, and
    // which key revision 13 changed (a watch may start at the compact revision).
    expect(store.historyKeyCount).toBe(0);
    expect(store.historyChangeCount).toBe(1);
  });

  it('reads ranges of a transaction at a revision, without its own writes, checked first', () => {
    const store = new KvStore();
    store.put({ key: 'a', value: '1', prevKv: false }); // 2
    store.put({ key: 'a', value: '2', prevKv: false }); // 3
    const result = store.txn({
      compare: [],
      success: [
        { type: 'put', request: { key: 'a', value: '3', prevKv: false } },
        { type: 'range', request: rangeRequest('a', { revision: 3 }) },
        { type: 'range', request: rangeRequest('a', { revision: 2 }) },
        { type: 'range', request: rangeRequest('a') },
      ],
      failure: [],
    });
    const values = result.responses.map((response) =>
      response.type === 'range' ? response.result.kvs.map((kv) => kv.value) : [],
    );
    expect(values).toEqual([[], ['2'], ['1'], ['3']]);
    store.compact(3);
    const refused = (revision: number) => () =>
      store.txn({
        compare: [],
        success: [
          { type: 'put', request: { key: 'b', value: 'x', prevKv: false } },
          { type: 'range', request: rangeRequest('a', { revision }) },
        ],
        failure: [],
      });
    expect(refused(2)).toThrow(CompactedRevisionError);
    expect(refused(99)).toThrow(FutureRevisionError);
    // Refused before anything was applied.
    expect(store.revision).toBe(4);
    expect(store.range(rangeRequest('b')).kvs).toEqual([]);
  });

  it('reads at every uncompacted revision what the latest read said then (random writes)', () => {
    const key = fc.constantFrom('a', 'b', 'ba', 'bb', 'c', '\0', '\xff');
    const rangeEnd = fc.constantFrom('', '', '\0', 'b', 'bz', 'd');
    const write: fc.Arbitrary<RequestOp> = fc.oneof(
      fc.record({
        type: fc.constant('put' as const),
        request: fc.record({ key, value: fc.constantFrom('x', 'y', ''), prevKv: fc.boolean() }),
      }),
      fc.record({
        type: fc.constant('deleteRange' as const),
        request: fc.record({ key, rangeEnd, prevKv: fc.boolean() }),
      }),
    );
    const step = fc.oneof(
      write.map((op) => ({ kind: 'op' as const, op })),
      fc.array(write, { maxLength: 4 }).map((ops) => ({ kind: 'txn' as const, ops })),
      fc.nat({ max: 1000 }).map((pick) => ({ kind: 'compact' as const, pick })),
      fc.constant({ kind: 'restore' as const }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
        let store = new KvStore();
        // The naive model: the whole state as the latest read saw it, at each revision.
        const states = new Map<number, KeyValue[]>([[1, []]]);
        for (const current of steps) {
          if (current.kind === 'op') {
            if (current.op.type === 'put') store.put(current.op.request);
            else if (current.op.type === 'deleteRange') store.deleteRange(current.op.request);
          } else if (current.kind === 'txn') {
            store.txn({ compare: [], success: current.ops, failure: [] });
          } else if (current.kind === 'compact') {
            const span = store.revision - store.compactRevision;
            if (span > 0) store.compact(store.compactRevision + 1 + (current.pick % span));
          } else {
            const restored = new KvStore();
            const { revision, keys, packed } = store.packedView();
            restored.loadPacked(revision, keys, packed);
            restored.loadHistory(store.historyView());
            // The size is accounted incrementally; recounted from the state it must agree.
            expect(restored.accountedBytes).toBe(store.accountedBytes);
            store = restored;
          }
          states.set(store.revision, store.range(everything).kvs);
        }
        const first = Math.max(1, store.compactRevision);
        for (let revision = first; revision <= store.revision; revision++) {
          const expected = states.get(revision) as KeyValue[];
          expect(store.range(everything, revision).kvs).toEqual(expected);
          // A sub-range and a key too, through the same merge of current and past.
          expect(store.range(rangeRequest('b', { rangeEnd: 'bz' }), revision).kvs).toEqual(
            expected.filter((kv) => kv.key >= 'b' && kv.key < 'bz'),
          );
          expect(store.range(rangeRequest('a'), revision).kvs).toEqual(
            expected.filter((kv) => kv.key === 'a'),
          );
          if (revision >= store.firstChangeRevision) {
            // What the revision changed is the difference between the states around it.
            const before = new Map(
              (states.get(revision - 1) ?? []).map((kv) => [kv.key, kv] as const),
            );
            const after = new Map(expected.map((kv) => [kv.key, kv] as const));
            for (const change of store.changesAt(revision)) {
              const entry =
                change.entry === undefined
                  ? undefined
                  : { value: valueOf(change.entry), ...unpackHeader(change.entry) };
              expect(entry?.value).toEqual(after.get(change.key)?.value);
              expect(entry?.modRevision).toEqual(after.get(change.key)?.modRevision);
              if (revision - 1 >= Math.max(1, store.compactRevision)) {
                const previous =
                  change.previous === undefined ? undefined : valueOf(change.previous);
                expect(previous).toEqual(before.get(change.key)?.value);
              }
            }
            const changedKeys = store.changesAt(revision).map((change) => change.key);
            const differing = [...new Set([...before.keys(), ...after.keys()])].filter(
              (changed) =>
                after.get(changed)?.modRevision !== before.get(changed)?.modRevision ||
                after.has(changed) !== before.has(changed),
            );
            for (const changed of differing) expect(changedKeys).toContain(changed);
            // A key a transaction created and deleted again is logged but differs in nothing.
            for (const changed of changedKeys.filter((logged) => !differing.includes(logged))) {
              expect(before.has(changed) || after.has(changed)).toBe(false);
            }
            expect(changedKeys.length).toBe(new Set(changedKeys).size);
          }
        }
        if (store.compactRevision > 1) {
          expect(() => store.range(everything, store.compactRevision - 1)).toThrow(
            CompactedRevisionError,
          );
        }
      }),
      { numRuns: 400 },
    );
  });
});
