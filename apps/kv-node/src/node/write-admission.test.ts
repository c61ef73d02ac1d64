import { describe, expect, it, vi } from 'vitest';
import { encodeCommand } from '../codec/command-codec.js';
import { ApiError } from '../http/api-error.js';
import { KvStore } from '../store/kv-store.js';
import type { RequestOp } from '../store/kv-types.js';
import { rangeRequest } from '../store/kv-types.js';
import { RequestWaitingList } from '@x/high-water-mark';
import type { ReplicaNode } from './local-replica.js';
import { LeaderFollowerReplica } from './local-replica.js';
import { txnReadAdmission } from './write-admission.js';

const limits = { maxKeys: 1000, maxBytes: 64 * 1024 };
const everything: RequestOp = {
  type: 'range',
  request: rangeRequest('\0', { rangeEnd: '\0' }),
};

function storeWith(keys: number, valueBytes: number): KvStore {
  const store = new KvStore();
  for (let index = 0; index < keys; index++) {
    store.put({
      key: `k${String(index).padStart(4, '0')}`,
      value: 'v'.repeat(valueBytes),
      prevKv: false,
    });
  }
  return store;
}

function txnWith(ops: RequestOp[]): Uint8Array {
  return encodeCommand({ type: 'txn', request: { compare: [], success: ops, failure: [] } });
}

function refusal(check: () => void): ApiError | undefined {
  try {
    check();
    return undefined;
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
}

describe('txnReadAdmission', () => {
  it('admits writes whose ranges fit the budget, and puts and deletes unchecked', () => {
    const admit = txnReadAdmission(storeWith(400, 10), limits);
    expect(refusal(() => admit(txnWith([everything, everything])))).toBeUndefined();
    const put = encodeCommand({ type: 'put', request: { key: 'a', value: 'b', prevKv: false } });
    expect(refusal(() => admit(put))).toBeUndefined();
  });

  it('refuses a txn whose ranges would visit too many keys (400, definite)', () => {
    const admit = txnReadAdmission(storeWith(400, 10), limits);
    const error = refusal(() => admit(txnWith([everything, everything, everything])));
    expect(error?.details).toMatchObject({
      status: 400,
      reason: 'txn_reads_too_large',
      grpcCode: 3,
      definite: true,
    });
    expect(error?.message).toContain('more than 1000 keys (--max-txn-read-keys)');
  });

  it('refuses a txn whose ranges would return too many bytes', () => {
    const admit = txnReadAdmission(storeWith(100, 1000), limits);
    const error = refusal(() => admit(txnWith([everything])));
    expect(error?.message).toContain('more than 65536 bytes (--max-txn-read-bytes)');
    // Keys only: the same range returns a few bytes per key and fits.
    const keysOnly: RequestOp = {
      type: 'range',
      request: rangeRequest('\0', { rangeEnd: '\0', keysOnly: true }),
    };
    expect(refusal(() => admit(txnWith([keysOnly])))).toBeUndefined();
  });

  it('runs in the leader before the proposal, which never reaches the log when refused', async () => {
    const propose = vi.fn(() => Promise.resolve({ status: 'applied' }));
    const node = {
      role: 'leader',
      leaderId: 'a',
      highWaterMark: 1,
      propose,
      readBarrier: vi.fn(),
      status: vi.fn(),
      transferLeadership: vi.fn(),
    } as unknown as ReplicaNode;
    const store = storeWith(400, 10);
    const replica = new LeaderFollowerReplica({
      node,
      store,
      appliedWaiters: new RequestWaitingList(),
      name: 'a',
      clusterId: '1',
      members: [],
      unsafeLocalLinearizableReads: false,
      admission: txnReadAdmission(store, limits),
    });
    await expect(
      replica.propose(txnWith([everything, everything, everything])),
    ).rejects.toMatchObject({
      details: { reason: 'txn_reads_too_large' },
    });
    expect(propose).not.toHaveBeenCalled();
    await replica.propose(txnWith([everything]));
    expect(propose).toHaveBeenCalledTimes(1);
  });
});

describe('txnReadAdmission and comparisons over key ranges', () => {
  it('charges the keys a range comparison may visit, at every level', () => {
    const admit = txnReadAdmission(storeWith(400, 10), limits);
    const rangeCompare = {
      target: 'version' as const,
      result: 'greater' as const,
      key: '\0',
      rangeEnd: '\0',
      operand: 0,
    };
    const put: RequestOp = { type: 'put', request: { key: 'p', value: 'v', prevKv: false } };
    const compares = (count: number): Uint8Array =>
      encodeCommand({
        type: 'txn',
        request: {
          compare: Array.from({ length: count }, () => rangeCompare),
          success: [put],
          failure: [],
        },
      });
    expect(refusal(() => admit(compares(2)))).toBeUndefined();
    expect(refusal(() => admit(compares(3)))?.details.reason).toBe('txn_reads_too_large');
    const nested = encodeCommand({
      type: 'txn',
      request: {
        compare: [rangeCompare, rangeCompare],
        success: [
          { type: 'txn', request: { compare: [rangeCompare], success: [put], failure: [] } },
        ],
        failure: [],
      },
    });
    expect(refusal(() => admit(nested))?.details.reason).toBe('txn_reads_too_large');
  });
});
