import { describe, expect, it } from 'vitest';
import { LeaseExpiry } from './lease-expiry.js';
import { LeaseTable } from './lease-table.js';

describe('LeaseExpiry', () => {
  it('keeps no deadlines while not leading, and extends every lease on promotion', () => {
    const table = new LeaseTable();
    table.grant('1', 5);
    const expiry = new LeaseExpiry(1000);
    expiry.sync(0, false, 1, table);
    expect(expiry.size).toBe(0);
    expect(expiry.expired(1_000_000, 10)).toEqual([]);
    expiry.sync(10_000, true, 2, table);
    expect(expiry.remainingSeconds('1', 10_000)).toBe(6);
    expect(expiry.expired(15_999, 10)).toEqual([]);
    expect(expiry.expired(16_000, 10)).toEqual(['1']);
    // Leading again in a later generation starts the lease afresh.
    expiry.sync(20_000, true, 3, table);
    expect(expiry.expired(25_999, 10)).toEqual([]);
  });

  it('gives a lease granted while leading its TTL, and renews on keep-alive', () => {
    const table = new LeaseTable();
    const expiry = new LeaseExpiry(1000);
    expiry.sync(0, true, 1, table);
    table.grant('1', 5);
    expiry.sync(100, true, 1, table);
    expect(expiry.expired(5_100, 10)).toEqual(['1']);
    expect(expiry.renew('1', 5_000, table)).toBe(5);
    expect(expiry.expired(9_999, 10)).toEqual([]);
    expect(expiry.renew('404', 5_000, table)).toBeUndefined();
  });

  it('starts a lease revoked and granted again under the same id afresh', () => {
    const table = new LeaseTable();
    const expiry = new LeaseExpiry(1000);
    table.grant('1', 5);
    expiry.sync(0, true, 1, table);
    // Between two syncs: revoked, another lease granted, and the same id granted again.
    table.revoke('1');
    table.grant('2', 5);
    table.grant('1', 60);
    expiry.sync(50_000, true, 1, table);
    expect(expiry.expired(50_000, 10)).toEqual([]);
    expect(expiry.remainingSeconds('1', 50_000)).toBe(60);
    expect(expiry.remainingSeconds('2', 50_000)).toBe(5);
  });
});
