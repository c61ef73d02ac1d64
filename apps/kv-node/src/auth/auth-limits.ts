/**
 * Bounds of the auth state. They are constants, not flags: every member applies the same log and
 * must refuse the same commands, so the bounds cannot differ between members. etcd has none; these
 * keep a hostile or careless administrator from growing every member's memory without limit.
 */

/** Longest user or role name, in UTF-8 bytes. */
export const MAX_AUTH_NAME_BYTES = 256;
/** Longest password, in UTF-8 bytes (hashing cost grows with it). */
export const MAX_PASSWORD_BYTES = 1024;
/** Most users. */
export const MAX_USERS = 10_000;
/** Most roles. */
export const MAX_ROLES = 10_000;
/** Most roles granted to one user. */
export const MAX_ROLES_PER_USER = 64;
/** Most permissions of one role. */
export const MAX_PERMISSIONS_PER_ROLE = 1024;
/** Longest key or range end of a permission, in bytes (well above any key limit). */
export const MAX_PERMISSION_KEY_BYTES = 64 * 1024;
/** Longest stored password hash, in characters (a scrypt hash is about 90). */
export const MAX_PASSWORD_HASH_CHARS = 256;
