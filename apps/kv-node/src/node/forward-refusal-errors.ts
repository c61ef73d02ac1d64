/**
 * Where forwarding meets the API: the leader turns the error that stopped a forwarded request into
 * a {@link ForwardRefusal}, and the member that took the client's request turns the refusal back
 * into its own {@link ApiError} (whose reason `grpc/grpc-errors.ts` maps to etcd's gRPC status).
 * Statuses, gRPC codes and whether the outcome is definite are decided here, on the receiving
 * member, from the reason alone; the leader's detail only supplies the words.
 */

import { ApiError, GrpcCode, tooLarge, tooManyRequests, unavailable } from '../http/api-error.js';
import type { ErrorReason } from '../http/api-error.js';
import type { ForwardRefusalReason } from './forwarded-outcome.js';
import { FORWARD_REFUSAL_REASONS, ForwardRefusal } from './forwarded-outcome.js';

const refusalReasons: ReadonlySet<ErrorReason> = new Set<ErrorReason>(FORWARD_REFUSAL_REASONS);

/**
 * The leader's refusal for `error`, which stopped a forwarded request. An API error whose reason
 * is a refusal reason keeps it; any other error becomes `fallback` (for a write `indeterminate`,
 * as it may have been applied), or `unavailable` when the error says nothing was done.
 */
export function refusalOf(
  error: unknown,
  fallback: 'indeterminate' | 'unavailable',
  context: string,
): ForwardRefusal {
  if (!(error instanceof ApiError)) {
    return new ForwardRefusal(fallback, `${context}: ${String(error)}`);
  }
  const reason = error.details.reason;
  if (refusalReasons.has(reason)) {
    return new ForwardRefusal(
      reason as ForwardRefusalReason,
      error.message,
      error.details.retryAfterSeconds ?? 0,
    );
  }
  return new ForwardRefusal(
    error.details.definite ? 'unavailable' : 'indeterminate',
    error.message,
  );
}

/** The error the member that forwarded a request answers its client with, for `refusal`. */
export function apiErrorOf(refusal: ForwardRefusal): ApiError {
  const detail = refusal.detail;
  switch (refusal.reason) {
    case 'no_leader':
      return unavailable(detail || 'etcdserver: not leader', 'no_leader');
    case 'unavailable':
      return unavailable(detail || 'etcdserver: request timed out');
    case 'shutting_down':
      return unavailable(detail || 'the leader is shutting down', 'shutting_down');
    case 'too_large':
      return tooLarge(detail || 'etcdserver: request is too large');
    case 'too_many_requests':
      return tooManyRequests(refusal.retryAfterSeconds);
    case 'txn_reads_too_large':
      return new ApiError(detail || 'the write txn would read more than the leader allows', {
        reason: 'txn_reads_too_large',
        status: 400,
        grpcCode: GrpcCode.invalidArgument,
        definite: true,
      });
    case 'indeterminate':
      // The leader's detail already says the write may or may not have been applied.
      return new ApiError(detail || 'the write may or may not have been applied', {
        reason: 'indeterminate',
        status: 504,
        grpcCode: GrpcCode.deadlineExceeded,
        definite: false,
      });
  }
}
