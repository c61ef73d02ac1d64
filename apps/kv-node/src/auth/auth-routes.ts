/**
 * etcd 3.4's `/v3/auth/*` gateway routes: the same paths, request fields (proto and lowerCamel
 * names), response bodies and errors. Management needs the root role once auth is enabled
 * (etcd's `IsAdminPermitted`), except that a user may read itself and the roles it holds.
 */

import { randomBytes } from 'node:crypto';
import type { ApiContext } from '../http/api-context.js';
import { tooLarge } from '../http/api-error.js';
import { headerModel } from '../http/etcd-json.js';
import type { JsonBody } from '../http/etcd-json.js';
import type { Exchange } from '../http/exchange.js';
import { readBarrier, replicateAuth } from '../http/kv-operations.js';
import type { DecodedMessage, ProtoJson } from '../http/proto-json.js';
import { protoJson } from '../http/proto-json.js';
import { responseHeaderSource } from '../http/response-header-source.js';
import type { AuthCommand } from './auth-command.js';
import { authError } from './auth-errors.js';
import {
  MAX_AUTH_NAME_BYTES,
  MAX_PASSWORD_BYTES,
  MAX_PERMISSION_KEY_BYTES,
} from './auth-limits.js';
import type { KeyPermission, PermissionType } from './key-permissions.js';
import { PERMISSION_TYPES } from './key-permissions.js';

type Handler = (context: ApiContext, exchange: Exchange) => Promise<void>;

/** The messages of etcd's Auth service, from its protos. */
const messages = {
  authenticate: protoJson('etcdserverpb.AuthenticateRequest'),
  authenticateResponse: protoJson('etcdserverpb.AuthenticateResponse'),
  enable: protoJson('etcdserverpb.AuthEnableRequest'),
  enableResponse: protoJson('etcdserverpb.AuthEnableResponse'),
  disable: protoJson('etcdserverpb.AuthDisableRequest'),
  disableResponse: protoJson('etcdserverpb.AuthDisableResponse'),
  userAdd: protoJson('etcdserverpb.AuthUserAddRequest'),
  userAddResponse: protoJson('etcdserverpb.AuthUserAddResponse'),
  userGet: protoJson('etcdserverpb.AuthUserGetRequest'),
  userGetResponse: protoJson('etcdserverpb.AuthUserGetResponse'),
  userList: protoJson('etcdserverpb.AuthUserListRequest'),
  userListResponse: protoJson('etcdserverpb.AuthUserListResponse'),
  userDelete: protoJson('etcdserverpb.AuthUserDeleteRequest'),
  userDeleteResponse: protoJson('etcdserverpb.AuthUserDeleteResponse'),
  userChangePassword: protoJson('etcdserverpb.AuthUserChangePasswordRequest'),
  userChangePasswordResponse: protoJson('etcdserverpb.AuthUserChangePasswordResponse'),
  userGrantRole: protoJson('etcdserverpb.AuthUserGrantRoleRequest'),
  userGrantRoleResponse: protoJson('etcdserverpb.AuthUserGrantRoleResponse'),
  userRevokeRole: protoJson('etcdserverpb.AuthUserRevokeRoleRequest'),
  userRevokeRoleResponse: protoJson('etcdserverpb.AuthUserRevokeRoleResponse'),
  roleAdd: protoJson('etcdserverpb.AuthRoleAddRequest'),
  roleAddResponse: protoJson('etcdserverpb.AuthRoleAddResponse'),
  roleGet: protoJson('etcdserverpb.AuthRoleGetRequest'),
  roleGetResponse: protoJson('etcdserverpb.AuthRoleGetResponse'),
  roleList: protoJson('etcdserverpb.AuthRoleListRequest'),
  roleListResponse: protoJson('etcdserverpb.AuthRoleListResponse'),
  roleDelete: protoJson('etcdserverpb.AuthRoleDeleteRequest'),
  roleDeleteResponse: protoJson('etcdserverpb.AuthRoleDeleteResponse'),
  roleGrantPermission: protoJson('etcdserverpb.AuthRoleGrantPermissionRequest'),
  roleGrantPermissionResponse: protoJson('etcdserverpb.AuthRoleGrantPermissionResponse'),
  roleRevokePermission: protoJson('etcdserverpb.AuthRoleRevokePermissionRequest'),
  roleRevokePermissionResponse: protoJson('etcdserverpb.AuthRoleRevokePermissionResponse'),
};

/** `authpb.Permission.Type`'s value names, as the protos decode them, to kv-node's types. */
const PERMISSION_TYPE_OF: ReadonlyMap<string, PermissionType> = new Map([
  ['READ', 'read'],
  ['WRITE', 'write'],
  ['READWRITE', 'readwrite'],
]);

function header(context: ApiContext): JsonBody {
  return headerModel(responseHeaderSource(context.backend), context.backend.store.revision);
}

/** Reads the body and decodes it as `message` (etcd's gateway decodes before it authorizes). */
async function readRequest(
  context: ApiContext,
  exchange: Exchange,
  message: ProtoJson,
): Promise<DecodedMessage> {
  return message.decode(await exchange.readJson(context.limits.maxRequestBytes));
}

/** A decoded string field, at most `maxBytes` UTF-8 bytes (kv-node's bound, not the protos'). */
function bounded(decoded: DecodedMessage, jsonName: string, maxBytes: number): string {
  const value = decoded[jsonName] as string;
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > maxBytes)
    throw tooLarge(`${jsonName} is ${bytes} bytes; the limit is ${maxBytes}`, jsonName);
  return value;
}

function name(decoded: DecodedMessage, jsonName: string): string {
  return bounded(decoded, jsonName, MAX_AUTH_NAME_BYTES);
}

/** A decoded bytes field of a permission, within the key bounds. */
function keyBytes(
  context: ApiContext,
  decoded: DecodedMessage,
  jsonName: string,
  field: string,
): string {
  const value = decoded[jsonName] as string;
  const limit = Math.min(context.limits.maxKeyBytes, MAX_PERMISSION_KEY_BYTES);
  if (value.length > limit) {
    throw tooLarge(`${field} is ${value.length} bytes; the limit is ${limit}`, field);
  }
  return value;
}

/** Proposes a management command and answers `{header}`, or etcd's error for it. */
async function change(
  context: ApiContext,
  exchange: Exchange,
  command: AuthCommand,
  user: string | undefined,
  response: ProtoJson,
): Promise<void> {
  const result = await replicateAuth(context, command, user);
  if (result.error !== undefined) throw authError(result.error);
  exchange.json(200, response.encode({ header: header(context) }));
}

/** Reads and decodes the body, then refuses non-root callers (when auth is enabled). */
async function adminRequest(
  context: ApiContext,
  exchange: Exchange,
  message: ProtoJson,
): Promise<{ decoded: DecodedMessage; caller: string | undefined }> {
  const decoded = await readRequest(context, exchange, message);
  return { decoded, caller: context.auth.authorizeAdmin(context.backend.auth, exchange) };
}

/**
 * Checks `{name, password}` (an `AuthenticateRequest`, as JSON or from gRPC) and answers
 * `{header, token}`: shared by the gateway route and the gRPC Auth service.
 *
 * @throws ApiError as `AuthGate.authenticate` does, or for a malformed request.
 */
export async function authenticateResponse(context: ApiContext, body: unknown): Promise<JsonBody> {
  const decoded = messages.authenticate.decode(body);
  const user = name(decoded, 'name');
  const password = bounded(decoded, 'password', MAX_PASSWORD_BYTES);
  // See every user change acknowledged before this request (it may have been made elsewhere).
  await readBarrier(context);
  const token = await context.auth.authenticate(context.backend.auth, user, password);
  return messages.authenticateResponse.encode({ header: header(context), token });
}

/** POST /v3/auth/authenticate {name, password} -> {header, token} */
const authenticate: Handler = async (context, exchange) => {
  const body = await exchange.readJson(context.limits.maxRequestBytes);
  exchange.json(200, await authenticateResponse(context, body));
};

/** POST /v3/auth/enable: needs a `root` user holding the `root` role. */
const enable: Handler = async (context, exchange) => {
  const { caller } = await adminRequest(context, exchange, messages.enable);
  await change(
    context,
    exchange,
    {
      op: 'enable',
      signingKey: randomBytes(32).toString('latin1'),
    },
    caller,
    messages.enableResponse,
  );
};

/** POST /v3/auth/disable */
const disable: Handler = async (context, exchange) => {
  const { caller } = await adminRequest(context, exchange, messages.disable);
  await change(context, exchange, { op: 'disable' }, caller, messages.disableResponse);
};

/** POST /v3/auth/user/add {name, password, options: {no_password}} */
const userAdd: Handler = async (context, exchange) => {
  const { decoded, caller } = await adminRequest(context, exchange, messages.userAdd);
  const user = name(decoded, 'name');
  const password = bounded(decoded, 'password', MAX_PASSWORD_BYTES);
  const options =
    decoded.options === undefined
      ? undefined
      : messages.userAdd.field('options').decode(decoded.options, 'options');
  const noPassword = options?.noPassword === true;
  if (user === '') throw authError('userEmpty', 'bad_request');
  const passwordHash = noPassword ? '' : await context.auth.hash(password);
  await change(
    context,
    exchange,
    { op: 'userAdd', name: user, passwordHash, noPassword },
    caller,
    messages.userAddResponse,
  );
};

/** POST /v3/auth/user/get {name} -> {header, roles} (root, or the user itself) */
const userGet: Handler = async (context, exchange) => {
  const user = name(await readRequest(context, exchange, messages.userGet), 'name');
  await readBarrier(context);
  const state = context.backend.auth;
  context.auth.authorizeAdmin(state, exchange, (caller) => caller === user);
  const record = state.user(user);
  if (record === undefined) throw authError('userNotFound');
  exchange.json(
    200,
    messages.userGetResponse.encode({ header: header(context), roles: record.roles }),
  );
};

/** POST /v3/auth/user/list -> {header, users} */
const userList: Handler = async (context, exchange) => {
  await readRequest(context, exchange, messages.userList);
  await readBarrier(context);
  context.auth.authorizeAdmin(context.backend.auth, exchange);
  const users = context.backend.auth.userNames();
  exchange.json(200, messages.userListResponse.encode({ header: header(context), users }));
};

/** POST /v3/auth/user/delete {name} */
const userDelete: Handler = async (context, exchange) => {
  const { decoded, caller } = await adminRequest(context, exchange, messages.userDelete);
  const user = name(decoded, 'name');
  await change(
    context,
    exchange,
    { op: 'userDelete', name: user },
    caller,
    messages.userDeleteResponse,
  );
};

/** POST /v3/auth/user/changepw {name, password} */
const userChangePassword: Handler = async (context, exchange) => {
  const { decoded, caller } = await adminRequest(context, exchange, messages.userChangePassword);
  const user = name(decoded, 'name');
  const password = bounded(decoded, 'password', MAX_PASSWORD_BYTES);
  if (context.backend.auth.user(user) === undefined) throw authError('userNotFound');
  const passwordHash = await context.auth.hash(password);
  await change(
    context,
    exchange,
    { op: 'userChangePassword', name: user, passwordHash },
    caller,
    messages.userChangePasswordResponse,
  );
};

/** POST /v3/auth/user/grant {user, role} */
const userGrantRole: Handler = async (context, exchange) => {
  const { decoded, caller } = await adminRequest(context, exchange, messages.userGrantRole);
  const user = name(decoded, 'user');
  const role = name(decoded, 'role');
  await change(
    context,
    exchange,
    { op: 'userGrantRole', user, role },
    caller,
    messages.userGrantRoleResponse,
  );
};

/** POST /v3/auth/user/revoke {name, role} */
const userRevokeRole: Handler = async (context, exchange) => {
  const { decoded, caller } = await adminRequest(context, exchange, messages.userRevokeRole);
  const user = name(decoded, 'name');
  const role = name(decoded, 'role');
  await change(
    context,
    exchange,
    { op: 'userRevokeRole', name: user, role },
    caller,
    messages.userRevokeRoleResponse,
  );
};

/** POST /v3/auth/role/add {name} */
const roleAdd: Handler = async (context, exchange) => {
  const { decoded, caller } = await adminRequest(context, exchange, messages.roleAdd);
  const role = name(decoded, 'name');
  if (role === '') throw authError('roleEmpty');
  await change(context, exchange, { op: 'roleAdd', name: role }, caller, messages.roleAddResponse);
};

/** A permission under the fields of `authpb.Permission`, for the encoders. */
function permissionModel(permission: KeyPermission): JsonBody {
  return {
    permType: PERMISSION_TYPES.indexOf(permission.type),
    key: permission.key,
    rangeEnd: permission.rangeEnd,
  };
}

/** POST /v3/auth/role/get {role} -> {header, perm} (root, or a user holding the role) */
const roleGet: Handler = async (context, exchange) => {
  const role = name(await readRequest(context, exchange, messages.roleGet), 'role');
  await readBarrier(context);
  const state = context.backend.auth;
  context.auth.authorizeAdmin(
    state,
    exchange,
    (caller) => state.user(caller)?.roles.includes(role) ?? false,
  );
  const permissions = state.role(role);
  if (permissions === undefined) throw authError('roleNotFound');
  exchange.json(
    200,
    messages.roleGetResponse.encode({
      header: header(context),
      perm: permissions.map(permissionModel),
    }),
  );
};

/** POST /v3/auth/role/list -> {header, roles} */
const roleList: Handler = async (context, exchange) => {
  await readRequest(context, exchange, messages.roleList);
  await readBarrier(context);
  context.auth.authorizeAdmin(context.backend.auth, exchange);
  const roles = context.backend.auth.roleNames();
  exchange.json(200, messages.roleListResponse.encode({ header: header(context), roles }));
};

/** POST /v3/auth/role/delete {role} */
const roleDelete: Handler = async (context, exchange) => {
  const { decoded, caller } = await adminRequest(context, exchange, messages.roleDelete);
  const role = name(decoded, 'role');
  await change(context, exchange, { op: 'roleDelete', role }, caller, messages.roleDeleteResponse);
};

/** Decodes a grant's `perm` (absent: READ of the empty key, as proto3 reads it). */
function decodePermission(value: unknown): DecodedMessage {
  return messages.roleGrantPermission.field('perm').decode(value ?? {}, 'perm');
}

/** POST /v3/auth/role/grant {name, perm: {permType, key, range_end}} */
const roleGrantPermission: Handler = async (context, exchange) => {
  const { decoded, caller } = await adminRequest(context, exchange, messages.roleGrantPermission);
  const role = name(decoded, 'name');
  const perm = decodePermission(decoded.perm);
  const type = PERMISSION_TYPE_OF.get(perm.permType as string) as PermissionType;
  const key = keyBytes(context, perm, 'key', 'perm.key');
  const rangeEnd = keyBytes(context, perm, 'rangeEnd', 'perm.range_end');
  await change(
    context,
    exchange,
    {
      op: 'roleGrantPermission',
      name: role,
      permission: { type, key, rangeEnd },
    },
    caller,
    messages.roleGrantPermissionResponse,
  );
};

/** POST /v3/auth/role/revoke {role, key, range_end} */
const roleRevokePermission: Handler = async (context, exchange) => {
  const { decoded, caller } = await adminRequest(context, exchange, messages.roleRevokePermission);
  const role = name(decoded, 'role');
  const key = keyBytes(context, decoded, 'key', 'key');
  const rangeEnd = keyBytes(context, decoded, 'rangeEnd', 'range_end');
  await change(
    context,
    exchange,
    { op: 'roleRevokePermission', role, key, rangeEnd },
    caller,
    messages.roleRevokePermissionResponse,
  );
};

/** Every auth route, by path (all POST, as in etcd's gateway). */
export const AUTH_ROUTES: readonly (readonly [string, Handler])[] = [
  ['/v3/auth/authenticate', authenticate],
  ['/v3/auth/enable', enable],
  ['/v3/auth/disable', disable],
  ['/v3/auth/user/add', userAdd],
  ['/v3/auth/user/get', userGet],
  ['/v3/auth/user/list', userList],
  ['/v3/auth/user/delete', userDelete],
  ['/v3/auth/user/changepw', userChangePassword],
  ['/v3/auth/user/grant', userGrantRole],
  ['/v3/auth/user/revoke', userRevokeRole],
  ['/v3/auth/role/add', roleAdd],
  ['/v3/auth/role/get', roleGet],
  ['/v3/auth/role/list', roleList],
  ['/v3/auth/role/delete', roleDelete],
  ['/v3/auth/role/grant', roleGrantPermission],
  ['/v3/auth/role/revoke', roleRevokePermission],
];
