/**
 * Lease ids are etcd's int64s: generated ids use all 63 bits, beyond JavaScript's safe integers,
 * so kv-node keeps them as canonical decimal strings ("100", "-3"), as the JSON gateway writes
 * them. `"0"` is etcd's `NoLease`.
 */

/** A lease id: a canonical decimal int64 (no leading zeros, no "+", no "-0"). */
export type LeaseId = string;

/** etcd's `NoLease`: a put without a lease, a grant that lets the server choose the id. */
export const NO_LEASE: LeaseId = '0';

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

/**
 * The canonical id of a JSON value (a number or a decimal string, as the gateway accepts), or
 * `undefined` if it is not an int64.
 */
export function parseLeaseId(value: unknown): LeaseId | undefined {
  let parsed: bigint;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) return undefined;
    parsed = BigInt(value);
  } else if (typeof value === 'string' && /^-?\d{1,19}$/.test(value)) {
    parsed = BigInt(value);
  } else {
    return undefined;
  }
  if (parsed < INT64_MIN || parsed > INT64_MAX) return undefined;
  return parsed.toString();
}

/**
 * A fresh positive id from 8 random bytes (etcd also keeps generated ids positive), never
 * `NO_LEASE`.
 */
export function leaseIdFromRandomBytes(bytes: Uint8Array): LeaseId {
  let value = 0n;
  for (let index = 0; index < 8; index++) value = (value << 8n) | BigInt(bytes[index] ?? 0);
  value &= INT64_MAX;
  return (value === 0n ? 1n : value).toString();
}
