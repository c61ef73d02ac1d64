import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BinaryReader } from '../codec/binary-reader.js';
import { BinaryWriter } from '../codec/binary-writer.js';
import { encodeCommand } from '../codec/command-codec.js';
import { decodeResponseOp, encodeResponseOp } from '../codec/result-codec.js';
import { hasUnreadResult, retainedResult } from './idempotency-table.js';
import { KvStateMachine } from './kv-state-machine.js';
import { KvStore } from './kv-store.js';
import type { RequestOp, ResponseOp, TxnRequest } from './kv-types.js';
import { rangeRequest } from './kv-types.js';
import { TxnReadBudget } from './txn-read-budget.js';

const everything = rangeRequest('\0', { rangeEnd: '\0' });
const rangeOp = (overrides = {}): RequestOp => ({
  type: 'range',
  request: { ...everything, ...overrides },
});
const putOp = (key: string, value = 'v'): RequestOp => ({
  type: 'put',
  request: { key, value, prevKv: false },
});

function storeWith(keys: number, valueBytes = 10): KvStore {
  const store = new KvStore();
  for (let index = 0; index < keys; index++) {
    store.put({
      key: `k${String(index).padStart(5, '0')}`,
      value: 'x'.repeat(valueBytes),
      prevKv: false,
    });
  }
  return store;
}

/** The result with every range replaced as a member that reads nothing reports it. */
function withoutReads(responses: readonly ResponseOp[]): ResponseOp[] {
  return responses.map((response) => {
    if (response.type === 'range')
      return { type: 'rangeNotRead', revision: response.result.revision };
    if (response.type === 'txn') {
      return {
        type: 'txn',
        result: { ...response.result, responses: withoutReads(response.result.responses) },
      };
    }
    return response;
  });
}

const keyArb = fc.constantFrom('a', 'b', 'c', 'd', 'e');
const txnArb: fc.Arbitrary<TxnRequest> = fc.letrec<{ op: RequestOp; txn: TxnRequest }>((tie) => ({
  op: fc.oneof(
    { maxDepth: 3, depthIdentifier: 'txn' },
    keyArb.map((key) => putOp(key, key)),
    fc
      .tuple(keyArb, fc.constantFrom('', '\0', 'd'))
      .map(([key, rangeEnd]) => rangeOp({ key, rangeEnd })),
    keyArb.map((key): RequestOp => ({
      type: 'deleteRange',
      request: { key, rangeEnd: '', prevKv: false },
    })),
    tie('txn').map((request): RequestOp => ({ type: 'txn', request })),
  ),
  txn: fc.record({
    compare: fc.array(
      keyArb.map((key) => ({
        target: 'version' as const,
        result: 'greater' as const,
        key,
        rangeEnd: '',
        operand: 0,
      })),
      { maxLength: 2 },
    ),
    success: fc.array(tie('op'), { maxLength: 4 }),
    failure: fc.array(tie('op'), { maxLength: 4 }),
  }),
})).txn;

describe('the ranges of a write txn', () => {
  it('never change the state: reading all, none or within a budget ends in the same store', () => {
    fc.assert(
      fc.property(
        fc.array(txnArb, { minLength: 1, maxLength: 12 }),
        fc.nat({ max: 8 }),
        (txns, maxKeys) => {
          const stores = [new KvStore(), new KvStore(), new KvStore()];
          for (const txn of txns) {
            const all = (stores[0] as KvStore).txn(txn, 'all');
            const none = (stores[1] as KvStore).txn(txn, 'none');
            const budgeted = (stores[2] as KvStore).txn(
              txn,
              new TxnReadBudget({ maxKeys, maxBytes: 1 << 20 }),
            );
            // Same outcome and revision; only what the ranges read differs.
            expect(none).toEqual({ ...all, responses: withoutReads(all.responses) });
            expect({ ...budgeted, responses: withoutReads(budgeted.responses) }).toEqual(none);
          }
          const dump = (store: KvStore): unknown => [store.revision, store.packedView()];
          expect(dump(stores[1] as KvStore)).toEqual(dump(stores[0] as KvStore));
          expect(dump(stores[2] as KvStore)).toEqual(dump(stores[0] as KvStore));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('stop being read once the budget of keys or bytes is spent, and the rest is not read', () => {
    const store = storeWith(100);
    const txn: TxnRequest = {
      compare: [],
      success: [
        putOp('z'),
        rangeOp({ key: 'k', rangeEnd: 'k00060' }),
        rangeOp(),
        rangeOp({ key: 'k00001' }),
      ],
      failure: [],
    };
    const budget = new TxnReadBudget({ maxKeys: 100, maxBytes: 1 << 20 });
    const result = store.txn(txn, budget);
    expect(result.responses.map((response) => response.type)).toEqual([
      'put',
      'range',
      'rangeNotRead',
      'rangeNotRead',
    ]);
    expect(budget.exceeded).toBe(true);
    // The put applied all the same.
    expect(store.stored('z')?.value).toBe('v');
    const bytes = new TxnReadBudget({ maxKeys: 1000, maxBytes: 500 });
    expect(store.txn({ ...txn, success: [rangeOp()] }, bytes).responses[0]?.type).toBe(
      'rangeNotRead',
    );
    expect(bytes.bytes).toBeGreaterThan(500);
  });

  it('are charged at admission over both branches and every level, at a bounded cost', () => {
    const store = storeWith(5000);
    const nested = (depth: number): TxnRequest =>
      depth === 0
        ? { compare: [], success: [rangeOp()], failure: [rangeOp({ countOnly: true })] }
        : { compare: [], success: [{ type: 'txn', request: nested(depth - 1) }], failure: [] };
    const within = new TxnReadBudget({ maxKeys: 10_000, maxBytes: 1 << 20 });
    store.chargeTxnReads(nested(3), within);
    // Both branches of the innermost txn: 5,000 keys each, read or counted.
    expect(within.keys).toBe(10_000);
    expect(within.exceeded).toBe(false);
    const over = new TxnReadBudget({ maxKeys: 10_000, maxBytes: 1 << 20 });
    const wide: TxnRequest = {
      compare: [],
      success: [putOp('p'), ...Array.from({ length: 127 }, () => rangeOp())],
      failure: [],
    };
    store.chargeTxnReads(wide, over);
    expect(over.exceeded).toBe(true);
    // It stopped at the first key over the budget instead of visiting 127 x 5,000 keys.
    expect(over.keys).toBe(10_001);
    // Charging changed nothing.
    expect(store.stored('p')).toBeUndefined();
  });
});

describe('KvStateMachine and the ranges of a write txn', () => {
  const withRanges = (requestId?: string): Uint8Array =>
    encodeCommand({
      type: 'txn',
      request: { compare: [], success: [putOp('new'), rangeOp()], failure: [] },
      ...(requestId === undefined ? {} : { requestId }),
    });

  it('reads them only where awaited; every member ends with the same snapshot', () => {
    const proposer = new KvStateMachine();
    const follower = new KvStateMachine();
    for (const machine of [proposer, follower]) machine.store.put(putOp('old').request as never);
    const read = proposer.apply(1, withRanges('id-1'), true);
    const notRead = follower.apply(1, withRanges('id-1'), false);
    expect(read?.status).toBe('applied');
    const readResult = read?.status === 'applied' ? read.result : undefined;
    expect(readResult?.type === 'txn' && readResult.result.responses[1]?.type).toBe('range');
    const notReadResult = notRead?.status === 'applied' ? notRead.result : undefined;
    expect(notReadResult?.type === 'txn' && notReadResult.result.responses[1]?.type).toBe(
      'rangeNotRead',
    );
    expect(Buffer.from(follower.snapshot())).toEqual(Buffer.from(proposer.snapshot()));
  });

  it('never keeps them in the idempotency table: a replay has no range result', () => {
    const machine = new KvStateMachine();
    machine.apply(1, withRanges('id-1'), true);
    const replay = machine.apply(2, withRanges('id-1'), true);
    expect(replay?.status).toBe('replayed');
    const result = replay?.status === 'replayed' ? replay.result : undefined;
    expect(result?.type === 'txn' && result.result.responses.map((each) => each.type)).toEqual([
      'put',
      'rangeNotRead',
    ]);
    // Nor in a snapshot: a restored replica replays the same way.
    const restored = new KvStateMachine();
    restored.restore(machine.snapshot(), 2);
    expect(restored.apply(3, withRanges('id-1'), true)).toEqual(replay);
  });

  it('reports how many ranges it read and did not read', () => {
    const seen: [number, number][] = [];
    const machine = new KvStateMachine(undefined, {
      txnReadLimits: { maxKeys: 1, maxBytes: 1 << 20 },
      onTxnRanges: (read, notRead) => seen.push([read, notRead]),
    });
    machine.store.put({ key: 'a', value: '1', prevKv: false });
    const twoRanges = (id: string): Uint8Array =>
      encodeCommand({
        type: 'txn',
        request: {
          compare: [],
          success: [putOp('b'), rangeOp({ key: 'a', rangeEnd: '' }), rangeOp()],
          failure: [],
        },
        requestId: id,
      });
    machine.apply(1, twoRanges('x'), true);
    machine.apply(2, twoRanges('y'), false);
    machine.apply(3, encodeCommand({ type: 'put', request: putOp('c').request as never }), true);
    expect(seen).toEqual([
      [1, 1],
      [0, 2],
    ]);
  });
});

describe('the idempotency table keeps what a write did, not what it read', () => {
  it('drops prev_kv of puts and deletes, and a replay says so instead of "no previous key"', () => {
    const machine = new KvStateMachine();
    machine.store.put({ key: 'a', value: 'big'.repeat(1000), prevKv: false });
    const putWithPrev = encodeCommand({
      type: 'put',
      request: { key: 'a', value: 'new', prevKv: true },
      requestId: 'p',
    });
    const first = machine.apply(1, putWithPrev, true);
    expect(
      first?.status === 'applied' &&
        first.result.type === 'put' &&
        first.result.result.prevKv?.value,
    ).toBe('big'.repeat(1000));
    const replay = machine.apply(2, putWithPrev, true);
    expect(replay).toEqual({
      status: 'replayed',
      result: { type: 'put', result: { revision: 3, prevNotRead: true } },
    });
    expect(
      replay !== undefined && replay.status === 'replayed' && hasUnreadResult(replay.result),
    ).toBe(true);
    const deleteWithPrev = encodeCommand({
      type: 'deleteRange',
      request: { key: 'a', rangeEnd: '\0', prevKv: true },
      requestId: 'd',
    });
    machine.apply(3, deleteWithPrev, true);
    const restored = new KvStateMachine();
    restored.restore(machine.snapshot(), 3);
    expect(restored.apply(4, deleteWithPrev, true)).toEqual({
      status: 'replayed',
      result: {
        type: 'deleteRange',
        result: { deleted: 1, prevKvs: [], revision: 4, prevNotRead: true },
      },
    });
    // A write that read nothing replays its whole result.
    const plain = encodeCommand({
      type: 'put',
      request: { key: 'b', value: '1', prevKv: false },
      requestId: 'b',
    });
    const applied = machine.apply(4, plain, true);
    const replayed = machine.apply(5, plain, true);
    expect(replayed).toEqual({
      status: 'replayed',
      result: applied?.status === 'applied' ? applied.result : undefined,
    });
    expect(
      replayed !== undefined && replayed.status === 'replayed' && hasUnreadResult(replayed.result),
    ).toBe(false);
  });

  it('round-trips kept results through the result codec', () => {
    const results = [
      retainedResult({
        type: 'txn',
        result: {
          succeeded: true,
          revision: 9,
          responses: [
            { type: 'range', result: { kvs: [], more: false, count: 0, revision: 9 } },
            {
              type: 'put',
              result: {
                revision: 9,
                prevKv: { key: 'k', value: 'v', createRevision: 2, modRevision: 3, version: 2 },
              },
            },
            {
              type: 'deleteRange',
              result: {
                deleted: 1,
                prevKvs: [{ key: 'k', value: 'v', createRevision: 2, modRevision: 3, version: 2 }],
                revision: 9,
              },
            },
          ],
        },
      }),
    ];
    for (const result of results) {
      const writer = new BinaryWriter(64);
      encodeResponseOp(writer, result);
      const decoded = decodeResponseOp(new BinaryReader(writer.finish()));
      expect(decoded).toEqual(result);
      expect(decoded.type === 'txn' && decoded.result.responses.map((each) => each.type)).toEqual([
        'rangeNotRead',
        'put',
        'deleteRange',
      ]);
      expect(hasUnreadResult(decoded)).toBe(true);
    }
  });
});
