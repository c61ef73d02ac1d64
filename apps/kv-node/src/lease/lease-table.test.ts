import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BinaryReader, MalformedEncodingError } from '../codec/binary-reader.js';
import { BinaryWriter } from '../codec/binary-writer.js';
import { LeaseTable } from './lease-table.js';
import { leaseIdFromRandomBytes, parseLeaseId } from './lease-id.js';
import { MAX_LEASE_TTL_SECONDS, minLeaseTtlSeconds } from './lease-limits.js';

type Op =
  | { kind: 'grant'; id: string; ttl: number }
  | { kind: 'revoke'; id: string }
  | { kind: 'attach'; key: string; id: string }
  | { kind: 'detach'; key: string };

const ids = fc.constantFrom('1', '2', '3', '-4', '9223372036854775807');
const keys = fc.constantFrom('a', 'b', 'c', 'd', 'e', '\u00ff');
const ops: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('grant' as const), id: ids, ttl: fc.integer({ min: 1, max: 99 }) }),
  fc.record({ kind: fc.constant('revoke' as const), id: ids }),
  fc.record({ kind: fc.constant('attach' as const), key: keys, id: ids }),
  fc.record({ kind: fc.constant('detach' as const), key: keys }),
);

const LIMITS = { maxLeases: 4, maxKeysPerLease: 3 };

function roundTrip(table: LeaseTable): LeaseTable {
  const writer = new BinaryWriter(64);
  table.encode(writer);
  const reader = new BinaryReader(writer.finishExact());
  const copy = LeaseTable.decode(reader, LIMITS);
  expect(reader.atEnd).toBe(true);
  return copy;
}

function contents(table: LeaseTable): unknown {
  // The grant serial is local to a member (never encoded): compare the replicated contents only.
  return table.list().map((lease) => ({
    id: lease.id,
    ttlSeconds: lease.ttlSeconds,
    keys: table.keysOf(lease.id),
  }));
}

describe('LeaseTable', () => {
  it('agrees with a model of leases and attachments, within its bounds, and round-trips', () => {
    fc.assert(
      fc.property(fc.array(ops, { maxLength: 60 }), (sequence) => {
        const table = new LeaseTable(LIMITS);
        const model = new Map<string, { ttl: number; keys: Set<string> }>();
        for (const op of sequence) {
          switch (op.kind) {
            case 'grant': {
              const error = table.grant(op.id, op.ttl);
              const expected = model.has(op.id)
                ? 'leaseExists'
                : model.size >= LIMITS.maxLeases
                  ? 'tooManyLeases'
                  : undefined;
              expect(error).toBe(expected);
              if (expected === undefined) model.set(op.id, { ttl: op.ttl, keys: new Set() });
              break;
            }
            case 'revoke': {
              const expected = model.get(op.id);
              expect(table.revoke(op.id)).toEqual(
                expected === undefined ? undefined : [...expected.keys].sort(),
              );
              model.delete(op.id);
              break;
            }
            case 'attach': {
              const lease = model.get(op.id);
              const refusal = table.refusalToAttach(op.key, op.id);
              const expected =
                lease === undefined
                  ? 'leaseNotFound'
                  : !lease.keys.has(op.key) && lease.keys.size >= LIMITS.maxKeysPerLease
                    ? 'tooManyKeysOnLease'
                    : undefined;
              expect(refusal).toBe(expected);
              if (expected !== undefined) break;
              table.attach(op.key, op.id);
              for (const other of model.values()) other.keys.delete(op.key);
              lease?.keys.add(op.key);
              break;
            }
            case 'detach':
              table.detach(op.key);
              for (const other of model.values()) other.keys.delete(op.key);
              break;
          }
          // Every attached key is on exactly the lease the table says.
          let attached = 0;
          for (const [id, lease] of model) {
            expect(table.keysOf(id)).toEqual([...lease.keys].sort());
            for (const key of lease.keys) expect(table.leaseOf(key)).toBe(id);
            attached += lease.keys.size;
            expect(lease.keys.size).toBeLessThanOrEqual(LIMITS.maxKeysPerLease);
          }
          expect(table.attachedKeyCount).toBe(attached);
          expect(table.size).toBe(model.size);
        }
        expect(contents(roundTrip(table))).toEqual(contents(table));
        const replaced = new LeaseTable(LIMITS);
        replaced.grant('77', 5);
        replaced.replaceWith(table);
        expect(contents(replaced)).toEqual(contents(table));
      }),
    );
  });

  it('refuses a TTL over etcd maximum and the NoLease id', () => {
    const table = new LeaseTable();
    expect(table.grant('1', MAX_LEASE_TTL_SECONDS + 1)).toBe('leaseTtlTooLarge');
    expect(table.grant('0', 10)).toBe('leaseIdInvalid');
    expect(table.grant('1', MAX_LEASE_TTL_SECONDS)).toBeUndefined();
  });

  it('refuses to decode a table with a key on two leases or a bad id', () => {
    const writer = new BinaryWriter(64);
    writer.writeVarint(2);
    for (const id of ['1', '2']) {
      writer.writeUtf8(id);
      writer.writeVarint(5);
      writer.writeVarint(1);
      writer.writeByteString('same');
    }
    expect(() => LeaseTable.decode(new BinaryReader(writer.finishExact()))).toThrow(
      MalformedEncodingError,
    );
    const badId = new BinaryWriter(16);
    badId.writeVarint(1);
    badId.writeUtf8('007');
    badId.writeVarint(5);
    badId.writeVarint(0);
    expect(() => LeaseTable.decode(new BinaryReader(badId.finishExact()))).toThrow(
      MalformedEncodingError,
    );
  });
});

describe('lease ids and TTLs', () => {
  it('parses int64s as etcd does, canonically, and nothing else', () => {
    expect(parseLeaseId(100)).toBe('100');
    expect(parseLeaseId('-3')).toBe('-3');
    expect(parseLeaseId('007')).toBe('7');
    expect(parseLeaseId('9223372036854775807')).toBe('9223372036854775807');
    expect(parseLeaseId('-9223372036854775808')).toBe('-9223372036854775808');
    for (const bad of ['9223372036854775808', '1.5', 'x', '', 1.5, 2 ** 60, true, null, {}]) {
      expect(parseLeaseId(bad), JSON.stringify(bad)).toBeUndefined();
    }
  });

  it('generates positive ids that never collide with NoLease', () => {
    expect(leaseIdFromRandomBytes(new Uint8Array(8))).toBe('1');
    expect(leaseIdFromRandomBytes(new Uint8Array(8).fill(255))).toBe('9223372036854775807');
  });

  it("computes etcd's minimum TTL from the timing", () => {
    // etcd's defaults: 100 ms heartbeat, 1000 ms election: (3 * 10 / 2) * 100 ms = 1.5 s -> 2 s.
    expect(minLeaseTtlSeconds(1000, 100)).toBe(2);
    expect(minLeaseTtlSeconds(500, 50)).toBe(1);
    expect(minLeaseTtlSeconds(5000, 250)).toBe(8);
  });
});
