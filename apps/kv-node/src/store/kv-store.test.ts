import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { prefixRangeEnd } from './byte-string.js';
import { KvStore } from './kv-store.js';
import type {
  Compare,
  DeleteRangeRequest,
  KeyValue,
  PutRequest,
  RangeRequest,
  RequestOp,
  TxnRequest,
} from './kv-types.js';
import { rangeRequest } from './kv-types.js';

const put = (key: string, value: string, prevKv = false): PutRequest => ({ key, value, prevKv });
const del = (key: string, rangeEnd = '', prevKv = false): DeleteRangeRequest => ({
  key,
  rangeEnd,
  prevKv,
});

describe('KvStore', () => {
  it('starts at revision 1 and bumps the revision, versions and mod revisions per put', () => {
    const store = new KvStore();
    expect(store.revision).toBe(1);
    expect(store.put(put('a', '1'))).toEqual({ revision: 2 });
    expect(store.put(put('a', '2', true))).toEqual({
      revision: 3,
      prevKv: { key: 'a', value: '1', createRevision: 2, modRevision: 2, version: 1 },
    });
    expect(store.range(rangeRequest('a'))).toEqual({
      kvs: [{ key: 'a', value: '2', createRevision: 2, modRevision: 3, version: 2 }],
      more: false,
      count: 1,
      revision: 3,
    });
  });

  it('resets the version and create revision after a delete', () => {
    const store = new KvStore();
    store.put(put('a', '1'));
    store.put(put('a', '2'));
    expect(store.deleteRange(del('a', '', true))).toEqual({
      deleted: 1,
      prevKvs: [{ key: 'a', value: '2', createRevision: 2, modRevision: 3, version: 2 }],
      revision: 4,
    });
    store.put(put('a', '3'));
    expect(store.range(rangeRequest('a')).kvs[0]).toEqual({
      key: 'a',
      value: '3',
      createRevision: 5,
      modRevision: 5,
      version: 1,
    });
  });

  it('does not bump the revision for a delete that deletes nothing', () => {
    const store = new KvStore();
    store.put(put('a', '1'));
    expect(store.deleteRange(del('b'))).toEqual({ deleted: 0, prevKvs: [], revision: 2 });
    expect(store.revision).toBe(2);
  });

  it('reads ranges, prefixes, the whole key space, with limit, count and sorting', () => {
    const store = new KvStore();
    for (const key of ['a', 'b/1', 'b/2', 'b/3', 'c']) store.put(put(key, `v-${key}`));
    const keys = (request: RangeRequest): string[] => store.range(request).kvs.map((kv) => kv.key);
    expect(keys(rangeRequest('b/', { rangeEnd: prefixRangeEnd('b/') }))).toEqual([
      'b/1',
      'b/2',
      'b/3',
    ]);
    expect(keys(rangeRequest('\0', { rangeEnd: '\0' }))).toEqual(['a', 'b/1', 'b/2', 'b/3', 'c']);
    expect(keys(rangeRequest('b', { rangeEnd: '\0' }))).toEqual(['b/1', 'b/2', 'b/3', 'c']);
    const limited = store.range(rangeRequest('a', { rangeEnd: '\0', limit: 2 }));
    expect(limited.kvs.map((kv) => kv.key)).toEqual(['a', 'b/1']);
    expect(limited.more).toBe(true);
    expect(limited.count).toBe(5);
    expect(store.range(rangeRequest('a', { rangeEnd: '\0', countOnly: true }))).toEqual({
      kvs: [],
      more: false,
      count: 5,
      revision: 6,
    });
    expect(store.range(rangeRequest('a', { keysOnly: true })).kvs[0]?.value).toBe('');
    expect(keys(rangeRequest('a', { rangeEnd: '\0', sortOrder: 'descend', limit: 2 }))).toEqual([
      'c',
      'b/3',
    ]);
    expect(
      keys(rangeRequest('a', { rangeEnd: '\0', sortTarget: 'create', sortOrder: 'descend' })),
    ).toEqual(['c', 'b/3', 'b/2', 'b/1', 'a']);
    expect(
      keys(rangeRequest('a', { rangeEnd: '\0', minModRevision: 4, maxModRevision: 5 })),
    ).toEqual(['b/2', 'b/3']);
    expect(keys(rangeRequest('c', { rangeEnd: 'a' }))).toEqual([]);
  });

  it('applies a transaction atomically at one revision', () => {
    const store = new KvStore();
    store.put(put('a', '1'));
    const result = store.txn({
      compare: [{ target: 'value', result: 'equal', key: 'a', rangeEnd: '', operand: '1' }],
      success: [
        { type: 'put', request: put('a', '2') },
        { type: 'put', request: put('b', '1') },
        { type: 'range', request: rangeRequest('a') },
      ],
      failure: [],
    });
    expect(result.succeeded).toBe(true);
    expect(result.revision).toBe(3);
    expect(store.revision).toBe(3);
    expect(result.responses[2]).toEqual({
      type: 'range',
      result: {
        kvs: [{ key: 'a', value: '2', createRevision: 2, modRevision: 3, version: 2 }],
        more: false,
        count: 1,
        revision: 3,
      },
    });
    const failed = store.txn({
      compare: [{ target: 'version', result: 'greater', key: 'a', rangeEnd: '', operand: 5 }],
      success: [{ type: 'put', request: put('x', '1') }],
      failure: [{ type: 'range', request: rangeRequest('x') }],
    });
    expect(failed.succeeded).toBe(false);
    expect(failed.revision).toBe(3);
  });

  it('compares missing keys as zero, and values of missing keys never match', () => {
    const store = new KvStore();
    const holds = (compare: Compare): boolean =>
      store.txn({ compare: [compare], success: [], failure: [] }).succeeded;
    expect(holds({ target: 'version', result: 'equal', key: 'x', rangeEnd: '', operand: 0 })).toBe(
      true,
    );
    expect(holds({ target: 'create', result: 'less', key: 'x', rangeEnd: '', operand: 1 })).toBe(
      true,
    );
    expect(holds({ target: 'value', result: 'equal', key: 'x', rangeEnd: '', operand: '' })).toBe(
      false,
    );
    expect(
      holds({ target: 'value', result: 'not_equal', key: 'x', rangeEnd: '', operand: '' }),
    ).toBe(false);
    store.put(put('p/1', 'a'));
    store.put(put('p/2', 'b'));
    expect(
      holds({ target: 'value', result: 'greater', key: 'p/', rangeEnd: 'p0', operand: '' }),
    ).toBe(true);
    expect(
      holds({ target: 'value', result: 'equal', key: 'p/', rangeEnd: 'p0', operand: 'a' }),
    ).toBe(false);
  });

  it("compares a key's lease as an int64, a missing key's and an unattached key's as 0", () => {
    const store = new KvStore();
    store.put({ ...put('p/1', 'a'), lease: '9223372036854775807' });
    store.put({ ...put('p/2', 'b'), lease: '10' });
    store.put(put('plain', 'c'));
    // Put with a lease, then deleted: a missing key has no lease.
    store.put({ ...put('gone', 'd'), lease: '10' });
    store.deleteRange(del('gone'));
    const holds = (result: Compare['result'], key: string, operand: string, rangeEnd = '') =>
      store.txn({
        compare: [{ target: 'lease', result, key, rangeEnd, operand }],
        success: [],
        failure: [],
      }).succeeded;
    expect(holds('equal', 'p/2', '10')).toBe(true);
    // Numerically, not as text: 9 < 10 although "9" > "10".
    expect(holds('greater', 'p/2', '9')).toBe(true);
    expect(holds('less', 'p/2', '-1')).toBe(false);
    expect(holds('greater', 'p/1', '9223372036854775806')).toBe(true);
    expect(holds('equal', 'plain', '0')).toBe(true);
    expect(holds('equal', 'gone', '0')).toBe(true);
    expect(holds('not_equal', 'gone', '10')).toBe(true);
    // Over a range, every key must satisfy it.
    expect(holds('greater', 'p/', '9', 'p0')).toBe(true);
    expect(holds('greater', 'p/', '10', 'p0')).toBe(false);
  });
});

/** The obvious model: a Map and a sort per read. */
class ModelStore {
  readonly entries = new Map<string, Omit<KeyValue, 'key'>>();
  revision = 1;

  keysIn(key: string, rangeEnd: string): string[] {
    const all = [...this.entries.keys()].sort();
    if (rangeEnd === '') return all.filter((candidate) => candidate === key);
    return all.filter(
      (candidate) => candidate >= key && (rangeEnd === '\0' || candidate < rangeEnd),
    );
  }

  kv(key: string): KeyValue {
    return { key, ...this.entries.get(key)! };
  }

  txn(request: TxnRequest): { succeeded: boolean; changed: boolean; responses: unknown[] } {
    const succeeded = request.compare.every((compare) => {
      const keys = this.keysIn(compare.key, compare.rangeEnd);
      if (keys.length === 0 && compare.target === 'value') return false;
      const subjects = keys.length === 0 ? [undefined] : keys.map((key) => this.entries.get(key));
      return subjects.every((stored) => {
        const left =
          compare.target === 'value'
            ? stored!.value
            : stored === undefined
              ? 0
              : compare.target === 'version'
                ? stored.version
                : compare.target === 'create'
                  ? stored.createRevision
                  : stored.modRevision;
        const right = compare.operand;
        switch (compare.result) {
          case 'equal':
            return left === right;
          case 'not_equal':
            return left !== right;
          case 'greater':
            return left > right;
          case 'less':
            return left < right;
        }
      });
    });
    let changed = false;
    const responses = (succeeded ? request.success : request.failure).map((op) => {
      const next = this.revision + 1;
      switch (op.type) {
        case 'put': {
          changed = true;
          const previous = this.entries.get(op.request.key);
          const prevKv = previous && op.request.prevKv ? this.kv(op.request.key) : undefined;
          this.entries.set(op.request.key, {
            value: op.request.value,
            createRevision: previous?.createRevision ?? next,
            modRevision: next,
            version: (previous?.version ?? 0) + 1,
          });
          return { put: prevKv?.value ?? null, revision: next };
        }
        case 'deleteRange': {
          const keys = this.keysIn(op.request.key, op.request.rangeEnd);
          const prevKvs = op.request.prevKv ? keys.map((key) => this.kv(key)) : [];
          for (const key of keys) this.entries.delete(key);
          if (keys.length > 0) changed = true;
          return { deleted: keys.length, prevKvs, revision: changed ? next : this.revision };
        }
        case 'range': {
          const keys = this.keysIn(op.request.key, op.request.rangeEnd);
          return { kvs: keys.map((key) => this.kv(key)), revision: changed ? next : this.revision };
        }
        case 'txn':
          throw new Error('not generated');
      }
    });
    if (changed) this.revision++;
    return { succeeded, changed, responses };
  }
}

function summarize(store: KvStore, request: TxnRequest): unknown {
  const result = store.txn(request);
  return {
    succeeded: result.succeeded,
    responses: result.responses.map((response) => {
      switch (response.type) {
        case 'put':
          return { put: response.result.prevKv?.value ?? null, revision: response.result.revision };
        case 'deleteRange':
          return {
            deleted: response.result.deleted,
            prevKvs: response.result.prevKvs,
            revision: response.result.revision,
          };
        case 'range':
          return { kvs: response.result.kvs, revision: response.result.revision };
        case 'txn':
          return null;
      }
    }),
  };
}

describe('KvStore against a model', () => {
  const key = fc.constantFrom('a', 'b', 'ba', 'bb', 'c', '\0', '\xff');
  const rangeEnd = fc.constantFrom('', '', '\0', 'b', 'bz', 'd');
  const compare: fc.Arbitrary<Compare> = fc.oneof(
    fc.record({
      target: fc.constantFrom('version' as const, 'create' as const, 'mod' as const),
      result: fc.constantFrom(
        'equal' as const,
        'not_equal' as const,
        'greater' as const,
        'less' as const,
      ),
      key,
      rangeEnd,
      operand: fc.integer({ min: 0, max: 6 }),
    }),
    fc.record({
      target: fc.constant('value' as const),
      result: fc.constantFrom(
        'equal' as const,
        'not_equal' as const,
        'greater' as const,
        'less' as const,
      ),
      key,
      rangeEnd,
      operand: fc.constantFrom('', 'x', 'y'),
    }),
  );
  const op: fc.Arbitrary<RequestOp> = fc.oneof(
    fc.record({
      type: fc.constant('put' as const),
      request: fc.record({ key, value: fc.constantFrom('x', 'y', ''), prevKv: fc.boolean() }),
    }),
    fc.record({
      type: fc.constant('deleteRange' as const),
      request: fc.record({ key, rangeEnd, prevKv: fc.boolean() }),
    }),
    fc.record({
      type: fc.constant('range' as const),
      request: fc
        .tuple(key, rangeEnd)
        .map(([start, end]) => rangeRequest(start, { rangeEnd: end })),
    }),
  );
  const txn: fc.Arbitrary<TxnRequest> = fc.record({
    compare: fc.array(compare, { maxLength: 2 }),
    success: fc.array(op, { maxLength: 3 }),
    failure: fc.array(op, { maxLength: 3 }),
  });

  it('returns the same results and revision as the model for random transactions', () => {
    fc.assert(
      fc.property(fc.array(txn, { maxLength: 30 }), (requests) => {
        const store = new KvStore();
        const model = new ModelStore();
        for (const request of requests) {
          const expected = model.txn(request);
          expect(summarize(store, request)).toEqual({
            succeeded: expected.succeeded,
            responses: expected.responses,
          });
          expect(store.revision).toBe(model.revision);
        }
        const all = store.range(rangeRequest('\0', { rangeEnd: '\0' }));
        expect(all.kvs).toEqual(model.keysIn('\0', '\0').map((stored) => model.kv(stored)));
      }),
      { numRuns: 300 },
    );
  });
});
