import { describe, expect, it } from 'vitest';
import type { RememberedResult } from './idempotency-table.js';
import { IdempotencyTable } from './idempotency-table.js';

function remembered(revision: number): RememberedResult {
  return { revision, bodyFingerprint: revision * 7, result: { type: 'put', result: { revision } } };
}

function idsOf(table: IdempotencyTable): string[] {
  const ids: string[] = [];
  table.forEach((requestId) => ids.push(requestId));
  return ids;
}

describe('IdempotencyTable.expire', () => {
  it('evicts the oldest ids beyond maxEntries, one per put, over many times the bound', () => {
    const table = new IdempotencyTable({ maxEntries: 100, retainRevisions: 1_000_000 });
    // 5,000 puts: the evicted ids' slots are dropped several times (past 1,024 and half).
    for (let revision = 1; revision <= 5_000; revision++) {
      table.remember(`client-${revision % 64}-${revision}`, remembered(revision));
      table.expire(revision);
      expect(table.size).toBe(Math.min(revision, 100));
    }
    const expected = Array.from({ length: 100 }, (_, index) => 4_901 + index).map(
      (revision) => `client-${revision % 64}-${revision}`,
    );
    expect(idsOf(table)).toEqual(expected);
    expect(table.lookup('client-36-4900')).toBeUndefined();
    expect(table.lookup('client-37-4901')?.revision).toBe(4_901);
  });

  it('evicts the ids older than retainRevisions, oldest first, ties included', () => {
    const table = new IdempotencyTable({ maxEntries: 1_000, retainRevisions: 10 });
    // Two ids per revision (a write that changed nothing keeps the revision).
    for (let revision = 1; revision <= 30; revision++) {
      table.remember(`a-${revision}`, remembered(revision));
      table.remember(`b-${revision}`, remembered(revision));
    }
    table.expire(30);
    expect(idsOf(table)).toEqual(
      Array.from({ length: 11 }, (_, index) => 20 + index).flatMap((revision) => [
        `a-${revision}`,
        `b-${revision}`,
      ]),
    );
  });

  it('keeps an id remembered again in its first place, and starts over after clear', () => {
    const table = new IdempotencyTable({ maxEntries: 2, retainRevisions: 1_000 });
    table.remember('first', remembered(1));
    table.remember('second', remembered(2));
    table.remember('first', remembered(1));
    table.remember('third', remembered(3));
    table.expire(3);
    expect(idsOf(table)).toEqual(['second', 'third']);
    table.clear();
    expect(table.size).toBe(0);
    table.remember('fourth', remembered(4));
    table.remember('fifth', remembered(5));
    table.remember('sixth', remembered(6));
    table.expire(6);
    expect(idsOf(table)).toEqual(['fifth', 'sixth']);
  });
});
