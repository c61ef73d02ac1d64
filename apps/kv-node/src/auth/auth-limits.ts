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
export const MAX_ROLES_PER_USER = 32;
/** Most permissions of one role. */
export const MAX_PERMISSIONS_PER_ROLE = 1024;
/** Longest key or range end of a permission, in bytes (above the default key limit). */
export const MAX_PERMISSION_KEY_BYTES = 4096;
/**
 * Most bytes of permission keys and range ends over all roles. With the bounds above this caps
 * the whole auth state at about 100 MB in the worst case (10,000 users with 256-byte names and
 * 32 roles of 256-byte names each), and far less in practice.
 */
export const MAX_PERMISSION_BYTES = 16 * 1024 * 1024;
/** Longest stored password hash, in characters (a scrypt hash is about 90). */
export const MAX_PASSWORD_HASH_CHARS = 256;
