import { ClockDecodeError, hybridTimestamp } from '@x/clocks';
import { describe, expect, it } from 'vitest';
import { decodeStoredRecord, encodeStoredRecord } from './stored-record.js';
import { compareValueVersions, decodeValueVersion, encodeValueVersion } from './value-version.js';

const early = { timestamp: hybridTimestamp(1_000, 7), writer: 'cyrene' };
const late = { timestamp: hybridTimestamp(1_001, 0), writer: 'athens' };
const tie = { timestamp: hybridTimestamp(1_001, 0), writer: 'byzantium' };

describe('value versions', () => {
  it('order by timestamp, then by writer; never written is the oldest', () => {
    expect(compareValueVersions(early, late)).toBeLessThan(0);
    expect(compareValueVersions(late, tie)).toBeLessThan(0);
    expect(compareValueVersions(tie, late)).toBeGreaterThan(0);
    expect(compareValueVersions(late, late)).toBe(0);
    expect(compareValueVersions(undefined, early)).toBeLessThan(0);
    expect(compareValueVersions(undefined, undefined)).toBe(0);
  });

  it('round-trip through their string form and refuse malformed ones', () => {
    expect(decodeValueVersion(encodeValueVersion(tie))).toEqual(tie);
    expect(encodeValueVersion(late)).toBe('0000000003e900000000:athens');
    expect(() => decodeValueVersion('0000000003e900000000')).toThrow(TypeError);
    expect(() => decodeValueVersion('0000000003e900000000:')).toThrow(TypeError);
    expect(() => decodeValueVersion('xyz:athens')).toThrow(ClockDecodeError);
    expect(() => decodeValueVersion(42)).toThrow(TypeError);
  });
});

describe('stored records', () => {
  it('round-trip values, binary keys and tombstones', () => {
    const key = '\u0000k\u00ff';
    const value = { value: 'v\u0001\u00fe', version: early };
    expect(decodeStoredRecord(encodeStoredRecord(key, value))).toEqual({ key, stored: value });
    const tombstone = { value: null, version: late };
    expect(decodeStoredRecord(encodeStoredRecord('k', tombstone))).toEqual({
      key: 'k',
      stored: tombstone,
    });
    const empty = { value: '', version: tie };
    expect(decodeStoredRecord(encodeStoredRecord('k', empty)).stored).toEqual(empty);
  });

  it('refuse a record cut short', () => {
    const record = encodeStoredRecord('key', { value: 'v', version: early });
    expect(() => decodeStoredRecord(record.subarray(0, 6))).toThrow(RangeError);
  });
});
