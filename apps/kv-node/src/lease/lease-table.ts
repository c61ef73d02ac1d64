/**
 * The replicated lease table (etcd's lessor, minus time): which leases exist, their granted TTL,
 * and which keys are attached to each. Every member applies the same grants, revokes and
 * attachments in log order, so every member holds the same table; when a lease expires is not
 * here (only the leader's memory decides it, see `lease-expiry.ts`).
 */

import type { BinaryReader } from '../codec/binary-reader.js';
import { MalformedEncodingError } from '../codec/binary-reader.js';
import type { BinaryWriter } from '../codec/binary-writer.js';
import type { ByteString } from '../store/byte-string.js';
import type { LeaseErrorName } from './lease-errors.js';
import type { LeaseId } from './lease-id.js';
import { NO_LEASE, parseLeaseId } from './lease-id.js';
import { MAX_KEYS_PER_LEASE, MAX_LEASES, MAX_LEASE_TTL_SECONDS } from './lease-limits.js';

/** Bounds of a {@link LeaseTable} (constants in production; small in tests). */
export interface LeaseTableLimits {
  maxLeases: number;
  maxKeysPerLease: number;
}

/** The production bounds. */
export const DEFAULT_LEASE_TABLE_LIMITS: LeaseTableLimits = {
  maxLeases: MAX_LEASES,
  maxKeysPerLease: MAX_KEYS_PER_LEASE,
};

interface Lease {
  ttlSeconds: number;
  keys: Set<ByteString>;
  /** The table generation the lease was granted (or restored) at; see {@link LeaseInfo}. */
  grantSerial: number;
}

/** One lease as the table reports it. */
export interface LeaseInfo {
  id: LeaseId;
  /** The TTL it was granted with, in seconds. */
  ttlSeconds: number;
  /** Number of keys attached. */
  keyCount: number;
  /**
   * Tells this grant from an earlier lease with the same id (revoked, then granted again):
   * local to this member, never replicated.
   */
  grantSerial: number;
}

/** The leases and their keys. Deterministic; no clock. */
export class LeaseTable {
  readonly #leases = new Map<LeaseId, Lease>();
  readonly #leaseOfKey = new Map<ByteString, LeaseId>();
  readonly #limits: LeaseTableLimits;
  #generation = 0;

  /** @param limits bounds of the table (default {@link DEFAULT_LEASE_TABLE_LIMITS}). */
  constructor(limits: LeaseTableLimits = DEFAULT_LEASE_TABLE_LIMITS) {
    this.#limits = limits;
  }

  /**
   * Grows whenever a lease is granted or revoked or the table is replaced: who mirrors the set of
   * leases (the leader's deadlines) resyncs only when it changed.
   */
  get generation(): number {
    return this.#generation;
  }

  /** Number of leases. */
  get size(): number {
    return this.#leases.size;
  }

  /** Number of keys attached to some lease. */
  get attachedKeyCount(): number {
    return this.#leaseOfKey.size;
  }

  /** Whether lease `id` exists. */
  has(id: LeaseId): boolean {
    return this.#leases.has(id);
  }

  /** Lease `id`, if it exists. */
  get(id: LeaseId): LeaseInfo | undefined {
    const lease = this.#leases.get(id);
    return lease === undefined
      ? undefined
      : {
          id,
          ttlSeconds: lease.ttlSeconds,
          keyCount: lease.keys.size,
          grantSerial: lease.grantSerial,
        };
  }

  /** Every lease, in grant order. */
  list(): LeaseInfo[] {
    return [...this.#leases].map(([id, lease]) => ({
      id,
      ttlSeconds: lease.ttlSeconds,
      keyCount: lease.keys.size,
      grantSerial: lease.grantSerial,
    }));
  }

  /** The keys attached to lease `id`, ascending (empty if it does not exist). */
  keysOf(id: LeaseId): ByteString[] {
    const keys = [...(this.#leases.get(id)?.keys ?? [])];
    return keys.sort((left, right) => (left < right ? -1 : left > right ? 1 : 0));
  }

  /** The lease `key` is attached to, if any. */
  leaseOf(key: ByteString): LeaseId | undefined {
    return this.#leaseOfKey.get(key);
  }

  /**
   * Creates lease `id` with `ttlSeconds` (already raised to the minimum by the receiving member).
   * @returns why nothing changed, or `undefined` once granted.
   */
  grant(id: LeaseId, ttlSeconds: number): LeaseErrorName | undefined {
    if (id === NO_LEASE) return 'leaseIdInvalid';
    if (ttlSeconds > MAX_LEASE_TTL_SECONDS) return 'leaseTtlTooLarge';
    if (this.#leases.has(id)) return 'leaseExists';
    if (this.#leases.size >= this.#limits.maxLeases) return 'tooManyLeases';
    this.#generation++;
    this.#leases.set(id, { ttlSeconds, keys: new Set(), grantSerial: this.#generation });
    return undefined;
  }

  /**
   * Removes lease `id` and detaches its keys (the caller deletes them from the store).
   * @returns the keys that were attached, ascending, or `undefined` if the lease does not exist.
   */
  revoke(id: LeaseId): ByteString[] | undefined {
    if (!this.#leases.has(id)) return undefined;
    const keys = this.keysOf(id);
    for (const key of keys) this.#leaseOfKey.delete(key);
    this.#leases.delete(id);
    this.#generation++;
    return keys;
  }

  /**
   * Why attaching `key` to lease `id` would fail (the lease is gone, or full), or `undefined` if
   * it may be attached. `NO_LEASE` always may.
   */
  refusalToAttach(key: ByteString, id: LeaseId): LeaseErrorName | undefined {
    if (id === NO_LEASE) return undefined;
    const lease = this.#leases.get(id);
    if (lease === undefined) return 'leaseNotFound';
    if (!lease.keys.has(key) && lease.keys.size >= this.#limits.maxKeysPerLease) {
      return 'tooManyKeysOnLease';
    }
    return undefined;
  }

  /** How many more keys lease `id` may hold (0 if it does not exist). */
  spareKeys(id: LeaseId): number {
    const lease = this.#leases.get(id);
    return lease === undefined ? 0 : Math.max(0, this.#limits.maxKeysPerLease - lease.keys.size);
  }

  /**
   * Attaches `key` to lease `id` (detaching it from any other); `NO_LEASE` only detaches. Check
   * {@link refusalToAttach} first: attaching to a missing lease throws.
   *
   * @throws RangeError if lease `id` does not exist.
   */
  attach(key: ByteString, id: LeaseId): void {
    if (id === NO_LEASE) {
      this.detach(key);
      return;
    }
    const lease = this.#leases.get(id);
    if (lease === undefined) throw new RangeError(`lease ${id} does not exist`);
    const previous = this.#leaseOfKey.get(key);
    if (previous === id) return;
    if (previous !== undefined) this.#leases.get(previous)?.keys.delete(key);
    lease.keys.add(key);
    this.#leaseOfKey.set(key, id);
  }

  /** Detaches `key` from its lease, if any (the key was deleted or put without a lease). */
  detach(key: ByteString): void {
    const id = this.#leaseOfKey.get(key);
    if (id === undefined) return;
    this.#leaseOfKey.delete(key);
    this.#leases.get(id)?.keys.delete(key);
  }

  /** Visits every attached key with its lease (in no particular order). */
  forEachAttachedKey(visit: (key: ByteString, id: LeaseId) => void): void {
    for (const [key, id] of this.#leaseOfKey) visit(key, id);
  }

  /** Replaces this table's contents with `other`'s (snapshot restore). */
  replaceWith(other: LeaseTable): void {
    this.#generation++;
    this.#leases.clear();
    this.#leaseOfKey.clear();
    for (const [id, lease] of other.#leases) {
      this.#leases.set(id, {
        ttlSeconds: lease.ttlSeconds,
        keys: new Set(lease.keys),
        grantSerial: this.#generation,
      });
      for (const key of lease.keys) this.#leaseOfKey.set(key, id);
    }
  }

  /** Writes the table: lease count, then each id, TTL, key count and keys (ascending). */
  encode(writer: BinaryWriter): void {
    writer.writeVarint(this.#leases.size);
    for (const [id, lease] of this.#leases) {
      writer.writeUtf8(id);
      writer.writeVarint(lease.ttlSeconds);
      const keys = this.keysOf(id);
      writer.writeVarint(keys.length);
      for (const key of keys) writer.writeByteString(key);
    }
  }

  /**
   * Reads a table written by {@link encode}.
   * @throws MalformedEncodingError on a bad id, a duplicate or a key on two leases.
   */
  static decode(reader: BinaryReader, limits?: LeaseTableLimits): LeaseTable {
    const table = new LeaseTable(limits);
    const count = reader.readVarint();
    for (let index = 0; index < count; index++) {
      const id = reader.readUtf8();
      if (parseLeaseId(id) !== id || id === NO_LEASE) {
        throw new MalformedEncodingError(`bad lease id "${id}"`);
      }
      if (table.#leases.has(id)) throw new MalformedEncodingError(`lease ${id} twice`);
      const lease: Lease = { ttlSeconds: reader.readVarint(), keys: new Set(), grantSerial: 0 };
      table.#leases.set(id, lease);
      const keyCount = reader.readVarint();
      for (let keyIndex = 0; keyIndex < keyCount; keyIndex++) {
        const key = reader.readByteString();
        if (table.#leaseOfKey.has(key)) {
          throw new MalformedEncodingError('a key attached to two leases');
        }
        lease.keys.add(key);
        table.#leaseOfKey.set(key, id);
      }
    }
    return table;
  }
}
