/**
 * The one error envelope of the HTTP API. It is a superset of etcd's gateway error
 * (`{"error", "code", "message"}` with a gRPC status code), so etcd clients parse it, plus a
 * machine-readable `reason`, whether the outcome is `definite`, and the offending `field`.
 */

/** gRPC status codes that etcd's gateway reports, by name. */
export const GrpcCode = {
  invalidArgument: 3,
  deadlineExceeded: 4,
  notFound: 5,
  permissionDenied: 7,
  failedPrecondition: 9,
  resourceExhausted: 8,
  outOfRange: 11,
  unimplemented: 12,
  internal: 13,
  unavailable: 14,
  unauthenticated: 16,
} as const;

/** Machine-readable error reasons. */
export type ErrorReason =
  | 'bad_request'
  | 'unsupported'
  | 'not_found'
  | 'route_not_found'
  | 'method_not_allowed'
  | 'precondition_failed'
  | 'too_large'
  | 'too_many_operations'
  | 'txn_reads_too_large'
  | 'reads_not_returned'
  | 'duplicate_key'
  | 'idempotency_key_reused'
  | 'compacted'
  | 'future_revision'
  | 'no_space'
  | 'no_leader'
  | 'unavailable'
  | 'indeterminate'
  | 'request_timeout'
  | 'shutting_down'
  | 'auth_error'
  | 'unauthenticated'
  | 'permission_denied'
  | 'auth_throttled'
  | 'too_many_requests'
  | 'internal'
  /** etcd's UNKNOWN status: a refusal of its lock and election recipes ("election: no leader"). */
  | 'unknown';

/** What an {@link ApiError} carries besides its message. */
export interface ApiErrorDetails {
  reason: ErrorReason;
  /** HTTP status. */
  status: number;
  /** gRPC code, for etcd clients. */
  grpcCode: number;
  /**
   * True when the request was certainly not applied and never will be; false when it may have
   * been (the client must read before retrying, or retry with the same idempotency key).
   */
  definite: boolean;
  /** The request field at fault, for 400s. */
  field?: string;
  /** Seconds a client should wait before retrying (sent as `Retry-After`). */
  retryAfterSeconds?: number;
}

/** An error the HTTP API reports to the client in its envelope. */
export class ApiError extends Error {
  /** See {@link ApiErrorDetails}. */
  readonly details: ApiErrorDetails;

  /**
   * @param message human-readable; etcd's own message where etcd has one.
   * @param details see {@link ApiErrorDetails}.
   */
  constructor(message: string, details: ApiErrorDetails) {
    super(message);
    this.name = 'ApiError';
    this.details = details;
  }

  /** The JSON envelope. */
  toJSON(): Record<string, unknown> {
    return {
      error: this.message,
      code: this.details.grpcCode,
      message: this.message,
      reason: this.details.reason,
      definite: this.details.definite,
      ...(this.details.field === undefined ? {} : { field: this.details.field }),
    };
  }
}

/** 400: a malformed request; names the field at fault. */
export function badRequest(message: string, field?: string): ApiError {
  return new ApiError(message, {
    reason: 'bad_request',
    status: 400,
    grpcCode: GrpcCode.invalidArgument,
    definite: true,
    ...(field === undefined ? {} : { field }),
  });
}

/** 400: a field etcd has but this node does not support (leases, history). */
export function unsupported(message: string, field: string): ApiError {
  return new ApiError(message, {
    reason: 'unsupported',
    status: 400,
    grpcCode: GrpcCode.invalidArgument,
    definite: true,
    field,
  });
}

/** 413: a key, value or body over its limit. */
export function tooLarge(message: string, field?: string): ApiError {
  return new ApiError(message, {
    reason: 'too_large',
    status: 413,
    grpcCode: GrpcCode.invalidArgument,
    definite: true,
    ...(field === undefined ? {} : { field }),
  });
}

/** 412: an If-Match / If-None-Match precondition did not hold. */
export function preconditionFailed(message: string): ApiError {
  return new ApiError(message, {
    reason: 'precondition_failed',
    status: 412,
    grpcCode: GrpcCode.failedPrecondition,
    definite: true,
  });
}

/** 404 for a missing key. */
export function keyNotFound(): ApiError {
  return new ApiError('key not found', {
    reason: 'not_found',
    status: 404,
    grpcCode: GrpcCode.notFound,
    definite: true,
  });
}

/**
 * 503: definitely not applied because the cluster cannot serve now (no leader, no quorum, this
 * node stopping). Safe to retry after `Retry-After`.
 */
export function unavailable(
  message: string,
  reason: 'no_leader' | 'unavailable' | 'shutting_down' = 'unavailable',
): ApiError {
  return new ApiError(message, {
    reason,
    status: 503,
    grpcCode: GrpcCode.unavailable,
    definite: true,
    retryAfterSeconds: 1,
  });
}

/**
 * 429: definitely not applied because this node holds as much pending work as it may (proposals
 * waiting, bytes not yet committed, reads waiting); etcd's `etcdserver: too many requests`
 * (RESOURCE_EXHAUSTED), worded exactly as etcd's so its clients recognize it. Safe to retry after
 * `Retry-After` (at least 1 s).
 */
export function tooManyRequests(retryAfterSeconds: number): ApiError {
  return new ApiError('etcdserver: too many requests', {
    reason: 'too_many_requests',
    status: 429,
    grpcCode: GrpcCode.resourceExhausted,
    definite: true,
    retryAfterSeconds: Math.max(1, Math.ceil(retryAfterSeconds)),
  });
}

/**
 * 504: the outcome is unknown (timed out, leadership lost while waiting): the write may or may
 * not have been applied.
 */
export function indeterminate(message: string): ApiError {
  return new ApiError(`${message}; the write may or may not have been applied`, {
    reason: 'indeterminate',
    status: 504,
    grpcCode: GrpcCode.deadlineExceeded,
    definite: false,
  });
}
