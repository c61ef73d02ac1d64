/**
 * Auth: Authenticate now; user and role management through the JSON gateway's `/v3/auth/*`
 * routes until it is bridged.
 */

import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { authenticateResponse } from '../auth/auth-routes.js';
import type { ApiContext } from '../http/api-context.js';
import { unary, unimplemented } from './grpc-call.js';

const AUTH_ADMIN_LATER =
  'etcdserver: user and role management is not served over gRPC by kv-node yet; use the JSON ' +
  "gateway's /v3/auth/* routes on the same port (etcdctl's --user and Authenticate work)";

const AUTH_ADMIN_METHODS = [
  'AuthEnable',
  'AuthDisable',
  'UserAdd',
  'UserGet',
  'UserList',
  'UserDelete',
  'UserChangePassword',
  'UserGrantRole',
  'UserRevokeRole',
  'RoleAdd',
  'RoleGet',
  'RoleList',
  'RoleDelete',
  'RoleGrantPermission',
  'RoleRevokePermission',
];

/** The handlers of `etcdserverpb.Auth`: the same token issue as `/v3/auth/authenticate`. */
export function authService(context: ApiContext): UntypedServiceImplementation {
  const handlers: UntypedServiceImplementation = {
    Authenticate: unary(context, (body) => authenticateResponse(context, body)),
  };
  for (const method of AUTH_ADMIN_METHODS) handlers[method] = unimplemented(AUTH_ADMIN_LATER);
  return handlers;
}
