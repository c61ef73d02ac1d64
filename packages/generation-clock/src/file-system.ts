/**
 * The subset of the kit's FileSystem port that the file-backed generation store uses, with member
 * signatures identical to `@x/wal`'s, so `NodeFileSystem` and `FaultFileSystem` from `@x/wal` (or
 * this package's own {@link NodeFileSystem}) satisfy it structurally.
 *
 * Paths are strings joined with `/`. Errors are Node-style errors with a `code` (`EIO`, `ENOENT`, ...).
 */

/**
 * How a file is opened: `read` (must exist), `readwrite` (must exist) or `create` (read/write,
 * created empty if missing; the new name survives a crash only after `syncDirectory`).
 */
export type OpenMode = 'read' | 'readwrite' | 'create';

/** An open file. Positions and lengths are in bytes. */
export interface FileHandle {
  /** Current size in bytes. */
  size(): Promise<number>;
  /** Reads up to `length` bytes at `position` into `buffer[offset..]`; resolves with the count read (0 at EOF). */
  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  /** Writes `buffer[offset..offset+length)` at `position`; resolves when the OS has the bytes (not durable). */
  write(buffer: Uint8Array, offset: number, length: number, position: number): Promise<void>;
  /**
   * Optional: the same write done at once on the calling thread (throws instead of rejecting).
   * The generation store never uses it; it is here so that this port stays identical to
   * `@x/wal`'s, whose log writes small groups this way, and one file system serves both.
   */
  writeOnLoop?(buffer: Uint8Array, offset: number, length: number, position: number): void;
  /** fdatasync: data and size durable. */
  datasync(): Promise<void>;
  /** Sets the size to `length` bytes (not durable until `datasync`). */
  truncate(length: number): Promise<void>;
  /** Closes the handle. */
  close(): Promise<void>;
}

/** The file operations the generation store uses. */
export interface FileSystem {
  /** Opens a file; rejects with `ENOENT` if it is missing and `mode` is not `create`. */
  open(path: string, mode: OpenMode): Promise<FileHandle>;
  /** Creates the directory and parents if missing. */
  mkdir(directory: string): Promise<void>;
  /** Whether a file or directory exists at `path`. */
  exists(path: string): Promise<boolean>;
  /** Renames atomically, replacing `to` if it exists (durable after `syncDirectory`). */
  rename(from: string, to: string): Promise<void>;
  /** Deletes a file (durable after `syncDirectory`). */
  unlink(path: string): Promise<void>;
  /** fsync of a directory: makes creates, renames and deletes in it durable. */
  syncDirectory(directory: string): Promise<void>;
}
