/**
 * The replicated auth commands (etcd's `InternalRaftRequest` auth members) and their binary
 * encoding. Only password hashes enter the log: the member that receives a request hashes the
 * password before proposing.
 */

import type { BinaryReader } from '../codec/binary-reader.js';
import { MalformedEncodingError } from '../codec/binary-reader.js';
import type { BinaryWriter } from '../codec/binary-writer.js';
import type { ByteString } from '../store/byte-string.js';
import type { AuthErrorName } from './auth-errors.js';
import { authErrorCode, authErrorName } from './auth-errors.js';
import type { KeyPermission } from './key-permissions.js';
import { PERMISSION_TYPES } from './key-permissions.js';

/** One change to the auth state. */
export type AuthCommand =
  /** Turns auth on; `signingKey` (random bytes chosen by the receiving member) signs tokens. */
  | { op: 'enable'; signingKey: ByteString }
  | { op: 'disable' }
  | { op: 'userAdd'; name: string; passwordHash: string; noPassword: boolean }
  | { op: 'userDelete'; name: string }
  | { op: 'userChangePassword'; name: string; passwordHash: string }
  | { op: 'userGrantRole'; user: string; role: string }
  | { op: 'userRevokeRole'; name: string; role: string }
  | { op: 'roleAdd'; name: string }
  | { op: 'roleDelete'; role: string }
  | { op: 'roleGrantPermission'; name: string; permission: KeyPermission }
  | { op: 'roleRevokePermission'; role: string; key: ByteString; rangeEnd: ByteString };

/** What applying an auth command produced, the same on every member. */
export interface AuthApplyResult {
  /** The auth revision after the command (unchanged when it failed). */
  authRevision: number;
  /** Why the command changed nothing, if it failed. */
  error?: AuthErrorName;
}

const OPS = [
  'enable',
  'disable',
  'userAdd',
  'userDelete',
  'userChangePassword',
  'userGrantRole',
  'userRevokeRole',
  'roleAdd',
  'roleDelete',
  'roleGrantPermission',
  'roleRevokePermission',
] as const;

/** Writes a key permission. */
export function encodePermission(writer: BinaryWriter, permission: KeyPermission): void {
  writer.writeByte(PERMISSION_TYPES.indexOf(permission.type));
  writer.writeByteString(permission.key);
  writer.writeByteString(permission.rangeEnd);
}

/** Reads a key permission. @throws MalformedEncodingError on an unknown type. */
export function decodePermission(reader: BinaryReader): KeyPermission {
  const code = reader.readByte();
  const type = PERMISSION_TYPES[code];
  if (type === undefined) throw new MalformedEncodingError(`unknown permission type ${code}`);
  return { type, key: reader.readByteString(), rangeEnd: reader.readByteString() };
}

/** Writes an auth command (the body of a log command of kind auth). */
export function encodeAuthCommand(writer: BinaryWriter, command: AuthCommand): void {
  writer.writeByte(OPS.indexOf(command.op));
  switch (command.op) {
    case 'enable':
      writer.writeByteString(command.signingKey);
      return;
    case 'disable':
      return;
    case 'userAdd':
      writer.writeUtf8(command.name);
      writer.writeUtf8(command.passwordHash);
      writer.writeByte(command.noPassword ? 1 : 0);
      return;
    case 'userDelete':
      writer.writeUtf8(command.name);
      return;
    case 'userChangePassword':
      writer.writeUtf8(command.name);
      writer.writeUtf8(command.passwordHash);
      return;
    case 'userGrantRole':
      writer.writeUtf8(command.user);
      writer.writeUtf8(command.role);
      return;
    case 'userRevokeRole':
      writer.writeUtf8(command.name);
      writer.writeUtf8(command.role);
      return;
    case 'roleAdd':
      writer.writeUtf8(command.name);
      return;
    case 'roleDelete':
      writer.writeUtf8(command.role);
      return;
    case 'roleGrantPermission':
      writer.writeUtf8(command.name);
      encodePermission(writer, command.permission);
      return;
    case 'roleRevokePermission':
      writer.writeUtf8(command.role);
      writer.writeByteString(command.key);
      writer.writeByteString(command.rangeEnd);
      return;
  }
}

/** Reads an auth command. @throws MalformedEncodingError if the bytes are not one. */
export function decodeAuthCommand(reader: BinaryReader): AuthCommand {
  const code = reader.readByte();
  const op = OPS[code];
  switch (op) {
    case 'enable':
      return { op, signingKey: reader.readByteString() };
    case 'disable':
      return { op };
    case 'userAdd':
      return {
        op,
        name: reader.readUtf8(),
        passwordHash: reader.readUtf8(),
        noPassword: reader.readByte() === 1,
      };
    case 'userDelete':
      return { op, name: reader.readUtf8() };
    case 'userChangePassword':
      return { op, name: reader.readUtf8(), passwordHash: reader.readUtf8() };
    case 'userGrantRole':
      return { op, user: reader.readUtf8(), role: reader.readUtf8() };
    case 'userRevokeRole':
      return { op, name: reader.readUtf8(), role: reader.readUtf8() };
    case 'roleAdd':
      return { op, name: reader.readUtf8() };
    case 'roleDelete':
      return { op, role: reader.readUtf8() };
    case 'roleGrantPermission':
      return { op, name: reader.readUtf8(), permission: decodePermission(reader) };
    case 'roleRevokePermission':
      return {
        op,
        role: reader.readUtf8(),
        key: reader.readByteString(),
        rangeEnd: reader.readByteString(),
      };
    default:
      throw new MalformedEncodingError(`unknown auth command ${code}`);
  }
}

/** Writes an auth result (for a follower that forwarded the command). */
export function encodeAuthResult(writer: BinaryWriter, result: AuthApplyResult): void {
  writer.writeVarint(result.authRevision);
  writer.writeByte(result.error === undefined ? 0 : authErrorCode(result.error));
}

/** Reads an auth result. @throws MalformedEncodingError on an unknown error code. */
export function decodeAuthResult(reader: BinaryReader): AuthApplyResult {
  const authRevision = reader.readVarint();
  const code = reader.readByte();
  if (code === 0) return { authRevision };
  const error = authErrorName(code);
  if (error === undefined) throw new MalformedEncodingError(`unknown auth error ${code}`);
  return { authRevision, error };
}
