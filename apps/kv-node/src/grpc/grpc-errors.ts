/**
 * kv-node's errors as etcd's gRPC statuses. etcd's clients recognize an error by its exact
 * message (`rpctypes.Error` maps the text back to a typed error), so where etcd has a message for
 * a failure, the status carries that message and etcd's code, without kv-node's extra words.
 */

import { status as GrpcStatus } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { Metadata } from '@grpc/grpc-js';
import { ApiError } from '../http/api-error.js';

/** A gRPC status error with `code` and `details`, in grpc-js's shape (`ServiceError`). */
export function grpcError(code: GrpcStatus, details: string): ServiceError {
  return Object.assign(new Error(details), { code, details, metadata: new Metadata() });
}

/** etcd's message and code for an {@link ApiError}, by its reason. */
function etcdStatusOf(error: ApiError): { code: GrpcStatus; details: string } {
  switch (error.details.reason) {
    case 'no_leader':
      // "not leader" inside kv-node is what etcd's clients see as "no leader": try again later.
      return { code: GrpcStatus.UNAVAILABLE, details: 'etcdserver: no leader' };
    case 'indeterminate':
      // etcd answers a proposal whose outcome it does not know with UNAVAILABLE and this text.
      return { code: GrpcStatus.UNAVAILABLE, details: 'etcdserver: request timed out' };
    case 'unavailable':
      // Definitely not done, for want of a leader in time: etcd's two words for it.
      return {
        code: GrpcStatus.UNAVAILABLE,
        details: /leadership/.test(error.message)
          ? 'etcdserver: leader changed'
          : 'etcdserver: request timed out',
      };
    case 'too_large':
      return { code: GrpcStatus.INVALID_ARGUMENT, details: 'etcdserver: request is too large' };
    case 'shutting_down':
      return { code: GrpcStatus.UNAVAILABLE, details: 'etcdserver: server stopped' };
    default:
      return { code: error.details.grpcCode, details: error.message };
  }
}

/** The status a failed call answers with; unknown errors are INTERNAL. */
export function grpcErrorOf(error: unknown): ServiceError {
  if (error instanceof ApiError) {
    const { code, details } = etcdStatusOf(error);
    return grpcError(code, details);
  }
  return grpcError(GrpcStatus.INTERNAL, `internal error: ${(error as Error).message}`);
}
