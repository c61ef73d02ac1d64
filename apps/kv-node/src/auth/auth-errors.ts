/**
 * etcd 3.4's authentication errors (`etcdserver/api/v3rpc/rpctypes`): the exact messages, the
 * gRPC codes and the HTTP statuses its JSON gateway answers with, as one numbered table so the
 * replicated log and the forwarding protocol carry a small code instead of text.
 */

import { ApiError } from '../http/api-error.js';
import type { ErrorReason } from '../http/api-error.js';

/** One etcd auth error. */
interface AuthErrorSpec {
  message: string;
  grpcCode: number;
  status: number;
  reason: ErrorReason;
}

const INVALID_ARGUMENT = 3;
const RESOURCE_EXHAUSTED = 8;
const FAILED_PRECONDITION = 9;
const PERMISSION_DENIED = 7;
const UNAUTHENTICATED = 16;

function spec(
  message: string,
  grpcCode: number,
  status: number,
  reason: ErrorReason = 'auth_error',
): AuthErrorSpec {
  return { message: `etcdserver: ${message}`, grpcCode, status, reason };
}

/** The errors, by name; codes are stable (they enter the log and the forwarding protocol). */
export const AUTH_ERRORS = {
  rootUserNotExist: spec('root user does not exist', FAILED_PRECONDITION, 412),
  rootRoleNotExist: spec('root user does not have root role', FAILED_PRECONDITION, 412),
  userAlreadyExist: spec('user name already exists', FAILED_PRECONDITION, 412),
  userEmpty: spec('user name is empty', INVALID_ARGUMENT, 400, 'unauthenticated'),
  userNotFound: spec('user name not found', FAILED_PRECONDITION, 412),
  roleAlreadyExist: spec('role name already exists', FAILED_PRECONDITION, 412),
  roleNotFound: spec('role name not found', FAILED_PRECONDITION, 412),
  roleEmpty: spec('role name is empty', INVALID_ARGUMENT, 400),
  authFailed: spec(
    'authentication failed, invalid user ID or password',
    INVALID_ARGUMENT,
    400,
    'unauthenticated',
  ),
  permissionDenied: spec('permission denied', PERMISSION_DENIED, 403, 'permission_denied'),
  roleNotGranted: spec('role is not granted to the user', FAILED_PRECONDITION, 412),
  permissionNotGranted: spec('permission is not granted to the role', FAILED_PRECONDITION, 412),
  authNotEnabled: spec('authentication is not enabled', FAILED_PRECONDITION, 412),
  invalidAuthToken: spec('invalid auth token', UNAUTHENTICATED, 401, 'unauthenticated'),
  invalidAuthMgmt: spec('invalid auth management', INVALID_ARGUMENT, 400),
  authOldRevision: spec('revision of auth store is old', INVALID_ARGUMENT, 400),
  tooManyRequests: spec('too many requests', RESOURCE_EXHAUSTED, 429, 'auth_throttled'),
  // kv-node's own bounds (etcd has none); worded like etcd's errors.
  tooManyUsers: spec('too many users', RESOURCE_EXHAUSTED, 400),
  tooManyRoles: spec('too many roles', RESOURCE_EXHAUSTED, 400),
  tooManyRolesOfUser: spec('too many roles granted to the user', RESOURCE_EXHAUSTED, 400),
  tooManyPermissions: spec('too many permissions granted to the role', RESOURCE_EXHAUSTED, 400),
} as const;

/** The name of an auth error. */
export type AuthErrorName = keyof typeof AUTH_ERRORS;

/** Stable numeric codes of the errors (1-based; 0 is "no error"). Append only. */
export const AUTH_ERROR_CODES: readonly AuthErrorName[] = [
  'rootUserNotExist',
  'rootRoleNotExist',
  'userAlreadyExist',
  'userEmpty',
  'userNotFound',
  'roleAlreadyExist',
  'roleNotFound',
  'roleEmpty',
  'authFailed',
  'permissionDenied',
  'roleNotGranted',
  'permissionNotGranted',
  'authNotEnabled',
  'invalidAuthToken',
  'invalidAuthMgmt',
  'authOldRevision',
  'tooManyRequests',
  'tooManyUsers',
  'tooManyRoles',
  'tooManyRolesOfUser',
  'tooManyPermissions',
];

/** The numeric code of an error (for the log and the forwarding protocol). */
export function authErrorCode(name: AuthErrorName): number {
  return AUTH_ERROR_CODES.indexOf(name) + 1;
}

/** The error of a numeric code, or `undefined` for an unknown code. */
export function authErrorName(code: number): AuthErrorName | undefined {
  return AUTH_ERROR_CODES[code - 1];
}

/**
 * The HTTP API error for an auth error: etcd's message and gRPC code, its gateway's status.
 *
 * @param reason overrides the table's machine-readable reason (e.g. "user name is empty" is a
 *   missing credential on a key request, but a bad field on `user add`).
 */
export function authError(name: AuthErrorName, reason?: ErrorReason): ApiError {
  const spec = AUTH_ERRORS[name];
  const { message, grpcCode, status } = spec;
  return new ApiError(message, {
    reason: reason ?? spec.reason,
    status,
    grpcCode,
    definite: true,
    ...(name === 'tooManyRequests' ? { retryAfterSeconds: 1 } : {}),
  });
}
