/**
 * The bridge from a gRPC call (grpc-js's shapes, `server/handler-calls.ts`) to the API's
 * handlers: the request object in, the response object or an etcd status out, and the call's
 * credentials in the shape the auth gate reads.
 */

import type {
  Metadata,
  ServerUnaryCall,
  ServiceError,
  UntypedHandleCall,
  handleUnaryCall,
  sendUnaryData,
} from '@grpc/grpc-js';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { RequestCredentials } from '../auth/auth-gate.js';
import type { ApiContext } from '../http/api-context.js';
import { ApiError } from '../http/api-error.js';
import type { JsonBody } from '../http/etcd-json.js';
import { grpcError, grpcErrorOf } from './grpc-errors.js';

/** A unary method: the decoded request and the caller's credentials to the response object. */
export type UnaryMethod = (
  request: unknown,
  credentials: RequestCredentials,
) => JsonBody | Promise<JsonBody>;

/** etcd's metadata key for the token from `Authenticate` (`rpctypes.TokenFieldNameGRPC`). */
const TOKEN_METADATA = 'token';

function tokenOf(metadata: Metadata): string | undefined {
  const value = metadata.get(TOKEN_METADATA)[0];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * The call's credentials (unary or stream) as the auth gate reads an HTTP request's: the `token` metadata stands
 * for the `Authorization` header, and the verified TLS client certificate (if any) for the socket.
 */
export function credentialsOf(
  call: Pick<ServerUnaryCall<unknown, unknown>, 'metadata' | 'getAuthContext'>,
): RequestCredentials {
  return {
    header: (name) => (name === 'authorization' ? tokenOf(call.metadata) : undefined),
    get request() {
      const certificate = call.getAuthContext().sslPeerCertificate;
      return {
        socket:
          certificate === undefined
            ? {}
            : { authorized: true, getPeerCertificate: () => certificate },
      };
    },
  };
}

/** A unary handler (grpc-js's shape) running `method`, answering failures with etcd's statuses. */
export function unary(
  context: ApiContext,
  method: UnaryMethod,
): handleUnaryCall<unknown, JsonBody> {
  return (call, callback) => {
    // Started at once; a synchronous throw becomes a rejection like any other failure.
    new Promise<JsonBody>((resolve) => resolve(method(call.request, credentialsOf(call)))).then(
      (response) => callback(null, response),
      (error: unknown) => callback(statusOf(context, error, call.getPath())),
    );
  };
}

/**
 * The status a call that failed with `error` ends with: a status error as it is, an
 * {@link ApiError} as etcd's status, anything else INTERNAL (and logged, with `method`).
 */
export function statusOf(context: ApiContext, error: unknown, method: string): ServiceError {
  if (isStatusError(error)) return error;
  if (!(error instanceof ApiError)) {
    context.logger.error({ err: error, method }, 'gRPC call failed');
  }
  return grpcErrorOf(error);
}

function isStatusError(error: unknown): error is ReturnType<typeof grpcError> {
  return error instanceof Error && typeof (error as { code?: unknown }).code === 'number';
}

/**
 * A handler of any kind (unary, stream) that answers UNIMPLEMENTED with `why`: a unary call
 * through its callback, a stream by ending it with that status at once.
 */
export function unimplemented(why: string): UntypedHandleCall {
  const handler = (
    call: { emit(event: 'error', error: Error): boolean },
    callback?: sendUnaryData<JsonBody>,
  ): void => {
    const error = grpcError(GrpcStatus.UNIMPLEMENTED, why);
    if (callback === undefined) call.emit('error', error);
    else callback(error);
  };
  return handler as UntypedHandleCall;
}
