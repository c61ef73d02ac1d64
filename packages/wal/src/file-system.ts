/**
 * The file-system port of the write-ahead log: the few operations a durable log needs, with the
 * durability of each spelled out, so a real disk (`NodeFileSystem`) and a simulated one
 * (`FaultFileSystem` from `@x/wal/testing`) are interchangeable.
 *
 * Paths are strings joined with `/`. Errors are Node-style errors with a `code` (`EIO`, `ENOSPC`,
 * `ENOENT`, `EBUSY`, ...).
 */

/**
 * How a file is opened: `read` (read only, must exist), `readwrite` (must exist) or `create`
 * (read/write, created empty if missing; the new name survives a crash only after
 * `syncDirectory` of its directory).
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
   * Optional: the same write done at once on the calling thread, returning when the OS has the
   * bytes (not durable); throws instead of rejecting. A write into the page cache costs a few
   * microseconds, less than handing it to a worker thread and being woken when it is done, so the
   * log uses this for small writes when the handle offers it. A handle that models disk time
   * (a simulator's) leaves it out, and the log then calls `write`.
   */
  writeOnLoop?(buffer: Uint8Array, offset: number, length: number, position: number): void;
  /** fdatasync: data and size durable. */
  datasync(): Promise<void>;
  /** Sets the size to `length` bytes (not durable until `datasync`). */
  truncate(length: number): Promise<void>;
  /** Closes the handle; later calls on it reject. */
  close(): Promise<void>;
}

/** A held directory lock. */
export interface DirectoryLock {
  /** Releases the lock; idempotent. */
  release(): Promise<void>;
}

/** The file operations the log uses. */
export interface FileSystem {
  /** Opens a file; rejects with `ENOENT` if it is missing and `mode` is not `create`. */
  open(path: string, mode: OpenMode): Promise<FileHandle>;
  /** Names (not paths) of the entries in a directory, sorted. */
  readdir(directory: string): Promise<string[]>;
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
  /** Exclusive lock on a directory, across processes; rejects at once (code `EBUSY`) if held. */
  lockDirectory(directory: string): Promise<DirectoryLock>;
}
