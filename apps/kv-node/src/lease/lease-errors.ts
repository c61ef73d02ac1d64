/**
 * etcd 3.4's lease errors (`lease/lessor.go`, `etcdserver/api/v3rpc/rpctypes`) with their exact
 * messages, gRPC codes and the HTTP statuses its JSON gateway answers with, numbered so the log
 * and the forwarding protocol carry a small code instead of text.
 */

import { ApiError } from '../http/api-error.js';

interface LeaseErrorSpec {
  message: string;
  grpcCode: number;
  status: number;
}

const INVALID_ARGUMENT = 3;
const NOT_FOUND = 5;
const FAILED_PRECONDITION = 9;
const RESOURCE_EXHAUSTED = 8;
const OUT_OF_RANGE = 11;

/** The errors by name. */
export const LEASE_ERRORS = {
  leaseNotFound: {
    message: 'etcdserver: requested lease not found',
    grpcCode: NOT_FOUND,
    status: 404,
  },
  leaseExists: {
    message: 'etcdserver: lease already exists',
    grpcCode: FAILED_PRECONDITION,
    status: 412,
  },
  leaseTtlTooLarge: {
    message: 'etcdserver: too large lease TTL',
    grpcCode: OUT_OF_RANGE,
    status: 400,
  },
  // kv-node's own bounds (etcd has none); worded like etcd's errors.
  tooManyLeases: {
    message: 'etcdserver: too many leases',
    grpcCode: RESOURCE_EXHAUSTED,
    status: 400,
  },
  tooManyKeysOnLease: {
    message: 'etcdserver: too many keys attached to the lease',
    grpcCode: RESOURCE_EXHAUSTED,
    status: 400,
  },
  leaseIdInvalid: {
    message: 'etcdserver: lease ID must be a 64-bit integer',
    grpcCode: INVALID_ARGUMENT,
    status: 400,
  },
} satisfies Record<string, LeaseErrorSpec>;

/** The name of a lease error. */
export type LeaseErrorName = keyof typeof LEASE_ERRORS;

/** Names in code order; the position (plus one) is the code in the log. Append only. */
const NAMES: readonly LeaseErrorName[] = [
  'leaseNotFound',
  'leaseExists',
  'leaseTtlTooLarge',
  'tooManyLeases',
  'tooManyKeysOnLease',
  'leaseIdInvalid',
];

/** The stable code (1 and up) of a lease error. */
export function leaseErrorCode(name: LeaseErrorName): number {
  return NAMES.indexOf(name) + 1;
}

/** The lease error with `code`, if any. */
export function leaseErrorName(code: number): LeaseErrorName | undefined {
  return NAMES[code - 1];
}

/** The error as the HTTP API reports it (etcd's message, gRPC code and gateway status). */
export function leaseError(name: LeaseErrorName): ApiError {
  const spec: LeaseErrorSpec = LEASE_ERRORS[name];
  return new ApiError(spec.message, {
    reason:
      spec.status === 404
        ? 'not_found'
        : spec.status === 412
          ? 'precondition_failed'
          : 'bad_request',
    status: spec.status,
    grpcCode: spec.grpcCode,
    definite: true,
  });
}
