/**
 * The replicated auth state (etcd's `authStore`): whether auth is enabled, users with password
 * hashes and roles, roles with key-range permissions, the auth revision, and the key that signs
 * tokens. Changed only by {@link AuthState.apply}, which is deterministic: every member applies
 * the same commands in the same order and reaches the same state and results.
 */

import type { BinaryReader } from '../codec/binary-reader.js';
import { MalformedEncodingError } from '../codec/binary-reader.js';
import type { BinaryWriter } from '../codec/binary-writer.js';
import type { ByteString } from '../store/byte-string.js';
import type { AuthApplyResult, AuthCommand } from './auth-command.js';
import { decodePermission, encodePermission } from './auth-command.js';
import type { AuthErrorName } from './auth-errors.js';
import {
  MAX_AUTH_NAME_BYTES,
  MAX_PASSWORD_HASH_CHARS,
  MAX_PERMISSION_BYTES,
  MAX_PERMISSION_KEY_BYTES,
  MAX_PERMISSIONS_PER_ROLE,
  MAX_ROLES,
  MAX_ROLES_PER_USER,
  MAX_USERS,
} from './auth-limits.js';
import type { Access, KeyInterval, KeyPermission } from './key-permissions.js';
import { grantedIntervals, isCovered } from './key-permissions.js';

/** The name of the superuser and of its role, as in etcd. */
export const ROOT = 'root';

/** A user as stored. */
export interface AuthUser {
  name: string;
  /** Encoded password hash (see `password-hash.ts`); empty for a user without password. */
  passwordHash: string;
  /** Created with etcd's `no_password` option: cannot authenticate with a password. */
  noPassword: boolean;
  /** Granted roles, sorted. */
  roles: string[];
  /**
   * The auth revision of the user's creation or last password change: tokens carry it, so a
   * deleted, re-created or re-passworded user's old tokens stop working.
   */
  stamp: number;
}

const SNAPSHOT_FORMAT = 1;

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function comparePermissions(a: KeyPermission, b: KeyPermission): number {
  return compareText(a.key, b.key) || compareText(a.rangeEnd, b.rangeEnd);
}

function permissionBytes(permission: KeyPermission): number {
  return permission.key.length + permission.rangeEnd.length;
}

function nameTooLong(name: string): boolean {
  return Buffer.byteLength(name, 'utf8') > MAX_AUTH_NAME_BYTES;
}

/** See the file comment. */
export class AuthState {
  #enabled = false;
  #revision = 0;
  #signingKey: ByteString = '';
  readonly #users = new Map<string, AuthUser>();
  /** Roles with their permissions, sorted by key then range end (as etcd keeps them). */
  readonly #roles = new Map<string, KeyPermission[]>();
  /** Bytes of every permission's key and range end (bounded by `MAX_PERMISSION_BYTES`). */
  #permissionBytes = 0;
  /** Merged intervals per user and access, valid for {@link AuthState.revision}. */
  #cache = new Map<string, Record<Access, KeyInterval[]>>();

  /** Whether requests must authenticate. */
  get enabled(): boolean {
    return this.#enabled;
  }

  /** The auth revision: bumped by every command that changed something (etcd's `AuthRevision`). */
  get revision(): number {
    return this.#revision;
  }

  /** The key tokens are signed with (empty until auth is first enabled). */
  get signingKey(): ByteString {
    return this.#signingKey;
  }

  /** A user, or `undefined`. */
  user(name: string): Readonly<AuthUser> | undefined {
    return this.#users.get(name);
  }

  /** A role's permissions, or `undefined` when the role does not exist. */
  role(name: string): readonly KeyPermission[] | undefined {
    return this.#roles.get(name);
  }

  /** Every user name, sorted. */
  userNames(): string[] {
    return [...this.#users.keys()].sort(compareText);
  }

  /** Every role name, sorted. */
  roleNames(): string[] {
    return [...this.#roles.keys()].sort(compareText);
  }

  /** Whether `user` exists and holds the root role (which allows everything). */
  isRoot(user: string): boolean {
    return this.#users.get(user)?.roles.includes(ROOT) ?? false;
  }

  /**
   * Whether `user` may `access` every key of `[key, rangeEnd)` (etcd's range rules). Root may do
   * anything; an unknown user nothing.
   */
  isPermitted(user: string, access: Access, key: ByteString, rangeEnd: ByteString): boolean {
    const record = this.#users.get(user);
    if (record === undefined) return false;
    if (record.roles.includes(ROOT)) return true;
    let granted = this.#cache.get(user);
    if (granted === undefined) {
      const permissions = record.roles.flatMap((role) => this.#roles.get(role) ?? []);
      granted = {
        read: grantedIntervals(permissions, 'read'),
        write: grantedIntervals(permissions, 'write'),
      };
      this.#cache.set(user, granted);
    }
    return isCovered(granted[access], key, rangeEnd);
  }

  /** Applies one command; deterministic. A failed command changes nothing. */
  apply(command: AuthCommand): AuthApplyResult {
    const error = this.#change(command);
    if (error !== undefined) return { authRevision: this.#revision, error };
    this.#revision++;
    this.#cache = new Map();
    if (command.op === 'userAdd' || command.op === 'userChangePassword') {
      (this.#users.get(command.name) as AuthUser).stamp = this.#revision;
    }
    return { authRevision: this.#revision };
  }

  /** Performs a command's change, or names why it cannot. */
  #change(command: AuthCommand): AuthErrorName | undefined {
    switch (command.op) {
      case 'enable': {
        const root = this.#users.get(ROOT);
        if (root === undefined) return 'rootUserNotExist';
        if (!root.roles.includes(ROOT)) return 'rootRoleNotExist';
        if (command.signingKey.length < 16) return 'invalidAuthMgmt';
        // Enabling again keeps the key, so tokens already issued stay valid (etcd: a no-op).
        if (!this.#enabled) this.#signingKey = command.signingKey;
        this.#enabled = true;
        return undefined;
      }
      case 'disable':
        this.#enabled = false;
        return undefined;
      case 'userAdd': {
        if (command.name === '') return 'userEmpty';
        if (nameTooLong(command.name) || command.passwordHash.length > MAX_PASSWORD_HASH_CHARS) {
          return 'invalidAuthMgmt';
        }
        if (this.#users.has(command.name)) return 'userAlreadyExist';
        if (this.#users.size >= MAX_USERS) return 'tooManyUsers';
        this.#users.set(command.name, {
          name: command.name,
          passwordHash: command.noPassword ? '' : command.passwordHash,
          noPassword: command.noPassword,
          roles: [],
          stamp: 0,
        });
        return undefined;
      }
      case 'userDelete':
        if (this.#enabled && command.name === ROOT) return 'invalidAuthMgmt';
        if (!this.#users.delete(command.name)) return 'userNotFound';
        return undefined;
      case 'userChangePassword': {
        const user = this.#users.get(command.name);
        if (user === undefined) return 'userNotFound';
        if (command.passwordHash.length > MAX_PASSWORD_HASH_CHARS) return 'invalidAuthMgmt';
        user.passwordHash = command.passwordHash;
        user.noPassword = false;
        return undefined;
      }
      case 'userGrantRole': {
        const user = this.#users.get(command.user);
        if (user === undefined) return 'userNotFound';
        if (command.role !== ROOT && !this.#roles.has(command.role)) return 'roleNotFound';
        if (user.roles.includes(command.role)) return undefined;
        if (user.roles.length >= MAX_ROLES_PER_USER) return 'tooManyRolesOfUser';
        user.roles = [...user.roles, command.role].sort(compareText);
        return undefined;
      }
      case 'userRevokeRole': {
        if (this.#enabled && command.name === ROOT && command.role === ROOT) {
          return 'invalidAuthMgmt';
        }
        const user = this.#users.get(command.name);
        if (user === undefined) return 'userNotFound';
        if (!user.roles.includes(command.role)) return 'roleNotGranted';
        user.roles = user.roles.filter((role) => role !== command.role);
        return undefined;
      }
      case 'roleAdd':
        if (command.name === '') return 'roleEmpty';
        if (nameTooLong(command.name)) return 'invalidAuthMgmt';
        if (this.#roles.has(command.name)) return 'roleAlreadyExist';
        if (this.#roles.size >= MAX_ROLES) return 'tooManyRoles';
        this.#roles.set(command.name, []);
        return undefined;
      case 'roleDelete': {
        if (this.#enabled && command.role === ROOT) return 'invalidAuthMgmt';
        const deleted = this.#roles.get(command.role);
        if (deleted === undefined) return 'roleNotFound';
        for (const permission of deleted) this.#permissionBytes -= permissionBytes(permission);
        this.#roles.delete(command.role);
        // etcd revokes a deleted role from every user holding it.
        for (const user of this.#users.values()) {
          if (user.roles.includes(command.role)) {
            user.roles = user.roles.filter((role) => role !== command.role);
          }
        }
        return undefined;
      }
      case 'roleGrantPermission': {
        const permissions = this.#roles.get(command.name);
        if (permissions === undefined) return 'roleNotFound';
        const granted = command.permission;
        if (
          granted.key.length > MAX_PERMISSION_KEY_BYTES ||
          granted.rangeEnd.length > MAX_PERMISSION_KEY_BYTES
        ) {
          return 'invalidAuthMgmt';
        }
        const existing = permissions.findIndex(
          (permission) => comparePermissions(permission, granted) === 0,
        );
        if (existing >= 0) {
          permissions[existing] = { ...granted };
          return undefined;
        }
        if (permissions.length >= MAX_PERMISSIONS_PER_ROLE) return 'tooManyPermissions';
        if (this.#permissionBytes + permissionBytes(granted) > MAX_PERMISSION_BYTES) {
          return 'tooManyPermissions';
        }
        this.#permissionBytes += permissionBytes(granted);
        permissions.push({ ...granted });
        permissions.sort(comparePermissions);
        return undefined;
      }
      case 'roleRevokePermission': {
        const permissions = this.#roles.get(command.role);
        if (permissions === undefined) return 'roleNotFound';
        const index = permissions.findIndex(
          (permission) =>
            permission.key === command.key && permission.rangeEnd === command.rangeEnd,
        );
        if (index < 0) return 'permissionNotGranted';
        this.#permissionBytes -= permissionBytes(permissions[index] as KeyPermission);
        permissions.splice(index, 1);
        return undefined;
      }
    }
  }

  /** Writes the whole state (for snapshots). */
  encode(writer: BinaryWriter): void {
    writer.writeByte(SNAPSHOT_FORMAT);
    writer.writeByte(this.#enabled ? 1 : 0);
    writer.writeVarint(this.#revision);
    writer.writeByteString(this.#signingKey);
    writer.writeVarint(this.#users.size);
    for (const user of this.#users.values()) {
      writer.writeUtf8(user.name);
      writer.writeUtf8(user.passwordHash);
      writer.writeByte(user.noPassword ? 1 : 0);
      writer.writeVarint(user.stamp);
      writer.writeVarint(user.roles.length);
      for (const role of user.roles) writer.writeUtf8(role);
    }
    writer.writeVarint(this.#roles.size);
    for (const [name, permissions] of this.#roles) {
      writer.writeUtf8(name);
      writer.writeVarint(permissions.length);
      for (const permission of permissions) encodePermission(writer, permission);
    }
  }

  /**
   * Reads a state written by {@link AuthState.encode}.
   *
   * @throws MalformedEncodingError if the bytes are not one, or break the state's bounds.
   */
  static decode(reader: BinaryReader): AuthState {
    const format = reader.readByte();
    if (format !== SNAPSHOT_FORMAT) {
      throw new MalformedEncodingError(`unknown auth snapshot format ${format}`);
    }
    const state = new AuthState();
    state.#enabled = reader.readByte() === 1;
    state.#revision = reader.readVarint();
    state.#signingKey = reader.readByteString();
    const userCount = reader.readVarint();
    if (userCount > MAX_USERS) throw new MalformedEncodingError(`${userCount} users in snapshot`);
    for (let index = 0; index < userCount; index++) {
      const name = reader.readUtf8();
      const passwordHash = reader.readUtf8();
      const noPassword = reader.readByte() === 1;
      const stamp = reader.readVarint();
      const roleCount = reader.readVarint();
      if (roleCount > MAX_ROLES_PER_USER) {
        throw new MalformedEncodingError(`user with ${roleCount} roles in snapshot`);
      }
      const roles: string[] = [];
      for (let role = 0; role < roleCount; role++) roles.push(reader.readUtf8());
      state.#users.set(name, { name, passwordHash, noPassword, stamp, roles });
    }
    const roleCount = reader.readVarint();
    if (roleCount > MAX_ROLES) throw new MalformedEncodingError(`${roleCount} roles in snapshot`);
    for (let index = 0; index < roleCount; index++) {
      const name = reader.readUtf8();
      const permissionCount = reader.readVarint();
      if (permissionCount > MAX_PERMISSIONS_PER_ROLE) {
        throw new MalformedEncodingError(`role with ${permissionCount} permissions in snapshot`);
      }
      const permissions: KeyPermission[] = [];
      for (let permission = 0; permission < permissionCount; permission++) {
        const decoded = decodePermission(reader);
        state.#permissionBytes += permissionBytes(decoded);
        permissions.push(decoded);
      }
      state.#roles.set(name, permissions);
    }
    return state;
  }

  /** Replaces this state with `other`'s (a restored snapshot). */
  replaceWith(other: AuthState): void {
    this.#enabled = other.#enabled;
    this.#revision = other.#revision;
    this.#signingKey = other.#signingKey;
    this.#users.clear();
    for (const [name, user] of other.#users) this.#users.set(name, user);
    this.#roles.clear();
    for (const [name, permissions] of other.#roles) this.#roles.set(name, permissions);
    this.#permissionBytes = other.#permissionBytes;
    this.#cache = new Map();
  }
}
