/**
 * etcd 3.4's `/v3/auth/*` gateway routes: the same paths, request fields (proto and lowerCamel
 * names), response bodies and errors. Management needs the root role once auth is enabled
 * (etcd's `IsAdminPermitted`), except that a user may read itself and the roles it holds.
 */

import { randomBytes } from 'node:crypto';
import type { ApiContext } from '../http/api-context.js';
import { badRequest, tooLarge } from '../http/api-error.js';
import { responseHeader } from '../http/etcd-json.js';
import type { JsonBody } from '../http/etcd-json.js';
import type { Exchange } from '../http/exchange.js';
import { FieldReader } from '../http/json-fields.js';
import { readBarrier, replicateAuth } from '../http/kv-operations.js';
import { responseHeaderSource } from '../http/response-header-source.js';
import { base64FromByteString } from '../store/byte-string.js';
import type { AuthCommand } from './auth-command.js';
import { authError } from './auth-errors.js';
import {
  MAX_AUTH_NAME_BYTES,
  MAX_PASSWORD_BYTES,
  MAX_PERMISSION_KEY_BYTES,
} from './auth-limits.js';
import type { KeyPermission } from './key-permissions.js';
import { PERMISSION_TYPES } from './key-permissions.js';

type Handler = (context: ApiContext, exchange: Exchange) => Promise<void>;

const PERMISSION_TYPE_NAMES = ['READ', 'WRITE', 'READWRITE'];

function header(context: ApiContext): JsonBody {
  return responseHeader(responseHeaderSource(context.backend), context.backend.store.revision);
}

async function readFields(context: ApiContext, exchange: Exchange): Promise<FieldReader> {
  return new FieldReader(await exchange.readJson(context.limits.maxRequestBytes));
}

/** A string field, `''` when absent, at most `maxBytes` UTF-8 bytes. */
function text(fields: FieldReader, protoName: string, maxBytes: number): string {
  const value = fields.raw(protoName);
  if (value === undefined) return '';
  const field = fields.fieldName(protoName);
  if (typeof value !== 'string') throw badRequest(`${field} must be a string`, field);
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > maxBytes)
    throw tooLarge(`${field} is ${bytes} bytes; the limit is ${maxBytes}`, field);
  return value;
}

function name(fields: FieldReader, protoName: string): string {
  return text(fields, protoName, MAX_AUTH_NAME_BYTES);
}

function bytesField(context: ApiContext, fields: FieldReader, protoName: string): string {
  const value = fields.bytes(protoName);
  const limit = Math.min(context.limits.maxKeyBytes, MAX_PERMISSION_KEY_BYTES);
  if (value.length > limit) {
    const field = fields.fieldName(protoName);
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
): Promise<void> {
  const result = await replicateAuth(context, command, user);
  if (result.error !== undefined) throw authError(result.error);
  exchange.json(200, { header: header(context) });
}

/** Parses the body, then refuses non-root callers (when auth is enabled). */
async function adminFields(
  context: ApiContext,
  exchange: Exchange,
): Promise<{ fields: FieldReader; caller: string | undefined }> {
  const fields = await readFields(context, exchange);
  return { fields, caller: context.auth.authorizeAdmin(context.backend.auth, exchange) };
}

/**
 * Checks `{name, password}` (a decoded `AuthenticateRequest`) and answers `{header, token}`:
 * shared by the gateway route and the gRPC Auth service.
 *
 * @throws ApiError as `AuthGate.authenticate` does, or for a malformed request.
 */
export async function authenticateResponse(context: ApiContext, body: unknown): Promise<JsonBody> {
  const fields = new FieldReader(body);
  const user = name(fields, 'name');
  const password = text(fields, 'password', MAX_PASSWORD_BYTES);
  fields.rejectUnknown();
  // See every user change acknowledged before this request (it may have been made elsewhere).
  await readBarrier(context);
  const token = await context.auth.authenticate(context.backend.auth, user, password);
  return { header: header(context), token };
}

/** POST /v3/auth/authenticate {name, password} -> {header, token} */
const authenticate: Handler = async (context, exchange) => {
  const body = await exchange.readJson(context.limits.maxRequestBytes);
  exchange.json(200, await authenticateResponse(context, body));
};

/** POST /v3/auth/enable: needs a `root` user holding the `root` role. */
const enable: Handler = async (context, exchange) => {
  const { fields, caller } = await adminFields(context, exchange);
  fields.rejectUnknown();
  await change(
    context,
    exchange,
    {
      op: 'enable',
      signingKey: randomBytes(32).toString('latin1'),
    },
    caller,
  );
};

/** POST /v3/auth/disable */
const disable: Handler = async (context, exchange) => {
  const { fields, caller } = await adminFields(context, exchange);
  fields.rejectUnknown();
  await change(context, exchange, { op: 'disable' }, caller);
};

/** POST /v3/auth/user/add {name, password, options: {no_password}} */
const userAdd: Handler = async (context, exchange) => {
  const { fields, caller } = await adminFields(context, exchange);
  const user = name(fields, 'name');
  const password = text(fields, 'password', MAX_PASSWORD_BYTES);
  const options = fields.raw('options');
  let noPassword = false;
  if (options !== undefined) {
    const optionFields = new FieldReader(options, 'options');
    noPassword = optionFields.boolean('no_password');
    optionFields.rejectUnknown();
  }
  fields.rejectUnknown();
  if (user === '') throw authError('userEmpty', 'bad_request');
  const passwordHash = noPassword ? '' : await context.auth.hash(password);
  await change(context, exchange, { op: 'userAdd', name: user, passwordHash, noPassword }, caller);
};

/** POST /v3/auth/user/get {name} -> {header, roles} (root, or the user itself) */
const userGet: Handler = async (context, exchange) => {
  const fields = await readFields(context, exchange);
  const user = name(fields, 'name');
  fields.rejectUnknown();
  await readBarrier(context);
  const state = context.backend.auth;
  context.auth.authorizeAdmin(state, exchange, (caller) => caller === user);
  const record = state.user(user);
  if (record === undefined) throw authError('userNotFound');
  exchange.json(200, {
    header: header(context),
    ...(record.roles.length === 0 ? {} : { roles: record.roles }),
  });
};

/** POST /v3/auth/user/list -> {header, users} */
const userList: Handler = async (context, exchange) => {
  const fields = await readFields(context, exchange);
  fields.rejectUnknown();
  await readBarrier(context);
  context.auth.authorizeAdmin(context.backend.auth, exchange);
  const users = context.backend.auth.userNames();
  exchange.json(200, { header: header(context), ...(users.length === 0 ? {} : { users }) });
};

/** POST /v3/auth/user/delete {name} */
const userDelete: Handler = async (context, exchange) => {
  const { fields, caller } = await adminFields(context, exchange);
  const user = name(fields, 'name');
  fields.rejectUnknown();
  await change(context, exchange, { op: 'userDelete', name: user }, caller);
};

/** POST /v3/auth/user/changepw {name, password} */
const userChangePassword: Handler = async (context, exchange) => {
  const { fields, caller } = await adminFields(context, exchange);
  const user = name(fields, 'name');
  const password = text(fields, 'password', MAX_PASSWORD_BYTES);
  fields.rejectUnknown();
  if (context.backend.auth.user(user) === undefined) throw authError('userNotFound');
  const passwordHash = await context.auth.hash(password);
  await change(context, exchange, { op: 'userChangePassword', name: user, passwordHash }, caller);
};

/** POST /v3/auth/user/grant {user, role} */
const userGrantRole: Handler = async (context, exchange) => {
  const { fields, caller } = await adminFields(context, exchange);
  const user = name(fields, 'user');
  const role = name(fields, 'role');
  fields.rejectUnknown();
  await change(context, exchange, { op: 'userGrantRole', user, role }, caller);
};

/** POST /v3/auth/user/revoke {name, role} */
const userRevokeRole: Handler = async (context, exchange) => {
  const { fields, caller } = await adminFields(context, exchange);
  const user = name(fields, 'name');
  const role = name(fields, 'role');
  fields.rejectUnknown();
  await change(context, exchange, { op: 'userRevokeRole', name: user, role }, caller);
};

/** POST /v3/auth/role/add {name} */
const roleAdd: Handler = async (context, exchange) => {
  const { fields, caller } = await adminFields(context, exchange);
  const role = name(fields, 'name');
  fields.rejectUnknown();
  if (role === '') throw authError('roleEmpty');
  await change(context, exchange, { op: 'roleAdd', name: role }, caller);
};

/** The gateway JSON of a permission (READ, 0, is omitted as a zero value). */
function permissionJson(permission: KeyPermission): JsonBody {
  const type = PERMISSION_TYPES.indexOf(permission.type);
  return {
    ...(type === 0 ? {} : { permType: PERMISSION_TYPE_NAMES[type] }),
    ...(permission.key === '' ? {} : { key: base64FromByteString(permission.key) }),
    ...(permission.rangeEnd === '' ? {} : { range_end: base64FromByteString(permission.rangeEnd) }),
  };
}

/** POST /v3/auth/role/get {role} -> {header, perm} (root, or a user holding the role) */
const roleGet: Handler = async (context, exchange) => {
  const fields = await readFields(context, exchange);
  const role = name(fields, 'role');
  fields.rejectUnknown();
  await readBarrier(context);
  const state = context.backend.auth;
  context.auth.authorizeAdmin(
    state,
    exchange,
    (caller) => state.user(caller)?.roles.includes(role) ?? false,
  );
  const permissions = state.role(role);
  if (permissions === undefined) throw authError('roleNotFound');
  exchange.json(200, {
    header: header(context),
    ...(permissions.length === 0 ? {} : { perm: permissions.map(permissionJson) }),
  });
};

/** POST /v3/auth/role/list -> {header, roles} */
const roleList: Handler = async (context, exchange) => {
  const fields = await readFields(context, exchange);
  fields.rejectUnknown();
  await readBarrier(context);
  context.auth.authorizeAdmin(context.backend.auth, exchange);
  const roles = context.backend.auth.roleNames();
  exchange.json(200, { header: header(context), ...(roles.length === 0 ? {} : { roles }) });
};

/** POST /v3/auth/role/delete {role} */
const roleDelete: Handler = async (context, exchange) => {
  const { fields, caller } = await adminFields(context, exchange);
  const role = name(fields, 'role');
  fields.rejectUnknown();
  await change(context, exchange, { op: 'roleDelete', role }, caller);
};

/** POST /v3/auth/role/grant {name, perm: {permType, key, range_end}} */
const roleGrantPermission: Handler = async (context, exchange) => {
  const { fields, caller } = await adminFields(context, exchange);
  const role = name(fields, 'name');
  const perm = new FieldReader(fields.raw('perm') ?? {}, 'perm');
  const type = perm.enumeration('perm_type', PERMISSION_TYPE_NAMES, PERMISSION_TYPES);
  const key = bytesField(context, perm, 'key');
  const rangeEnd = bytesField(context, perm, 'range_end');
  perm.rejectUnknown();
  fields.rejectUnknown();
  await change(
    context,
    exchange,
    {
      op: 'roleGrantPermission',
      name: role,
      permission: { type, key, rangeEnd },
    },
    caller,
  );
};

/** POST /v3/auth/role/revoke {role, key, range_end} */
const roleRevokePermission: Handler = async (context, exchange) => {
  const { fields, caller } = await adminFields(context, exchange);
  const role = name(fields, 'role');
  const key = bytesField(context, fields, 'key');
  const rangeEnd = bytesField(context, fields, 'range_end');
  fields.rejectUnknown();
  await change(context, exchange, { op: 'roleRevokePermission', role, key, rangeEnd }, caller);
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
