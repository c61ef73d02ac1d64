/** The store's revision errors in the API's envelope, as etcd 3.4's gateway reports them. */

import { CompactedRevisionError, FutureRevisionError } from '../store/revision-errors.js';
import { ApiError, GrpcCode } from './api-error.js';

/**
 * The API error for a revision error of the store (400 with gRPC OutOfRange, as etcd's gateway
 * answers), or `undefined` for any other error.
 *
 * @param field the request field that named the revision.
 */
export function revisionApiError(error: unknown, field = 'revision'): ApiError | undefined {
  if (error instanceof FutureRevisionError) {
    return new ApiError(error.message, {
      reason: 'future_revision',
      status: 400,
      grpcCode: GrpcCode.outOfRange,
      definite: true,
      field,
    });
  }
  if (error instanceof CompactedRevisionError) {
    return new ApiError(error.message, {
      reason: 'compacted',
      status: 400,
      grpcCode: GrpcCode.outOfRange,
      definite: true,
      field,
    });
  }
  return undefined;
}

/**
 * Runs `read` and rethrows a revision error of the store as its API error.
 *
 * @throws ApiError for a future or compacted revision; whatever else `read` throws.
 */
export function revisionErrorsAsApiErrors<T>(read: () => T, field = 'revision'): T {
  try {
    return read();
  } catch (error) {
    throw revisionApiError(error, field) ?? error;
  }
}
