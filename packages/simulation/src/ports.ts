// The ports the simulator implements, declared here with the exact member signatures the pattern
// packages declare, so structural typing lets one simulated object satisfy all of them.

/** Monotonic time in milliseconds (never wall time). */
export interface Clock {
  now(): number;
}

/** Callbacks on (real or virtual) time. Handles are opaque. */
export interface Timers {
  setTimeout(callback: () => void, delayMs: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Uniform random numbers in [0, 1); seeded in simulation. */
export interface Random {
  next(): number;
}

/** A pino-compatible logger subset; the default is a no-op. Libraries never print. */
export interface Logger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/** How a file is opened; `create` = read/write, created if missing. */
export type OpenMode = 'read' | 'readwrite' | 'create';

/** An open file (the subset of the @x/wal FileHandle port). */
export interface FileHandle {
  /** Current size in bytes. */
  size(): Promise<number>;
  /** Reads up to `length` bytes at `position` into `buffer[offset..]`; resolves with the count read (0 at EOF). */
  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  /** Writes `buffer[offset..offset+length)` at `position`; resolves when the OS has the bytes (not durable). */
  write(buffer: Uint8Array, offset: number, length: number, position: number): Promise<void>;
  /** fdatasync: data and size durable. */
  datasync(): Promise<void>;
  /** Sets the file's size in bytes. */
  truncate(length: number): Promise<void>;
  /** Closes the handle; later calls on it reject. */
  close(): Promise<void>;
}

/** The file-system port of @x/wal and @x/generation-clock. Paths are joined with '/'. */
export interface FileSystem {
  /** Opens a file. Rejects with code ENOENT if it is missing and `mode` is not `create`. */
  open(path: string, mode: OpenMode): Promise<FileHandle>;
  /** Names (not paths) of the entries in a directory, sorted. */
  readdir(directory: string): Promise<string[]>;
  /** Creates the directory and parents if missing. */
  mkdir(directory: string): Promise<void>;
  /** Whether a file or directory exists. */
  exists(path: string): Promise<boolean>;
  /** Renames a file (durable after `syncDirectory`). */
  rename(from: string, to: string): Promise<void>;
  /** Deletes a file (durable after `syncDirectory`). */
  unlink(path: string): Promise<void>;
  /** fsync of a directory: makes creates, renames and deletes in it durable. */
  syncDirectory(directory: string): Promise<void>;
  /** Exclusive lock on a directory, across processes; rejects at once if held. */
  lockDirectory(directory: string): Promise<{ release(): Promise<void> }>;
}

/** One-way, per-peer ordered, lossy messaging between named nodes. */
export interface Transport {
  /** One-way message to a peer, in order per peer; never throws for connectivity. The receiver owns `payload`. */
  send(to: string, type: number, payload: Uint8Array): void;
  /** The single handler for inbound messages. */
  onMessage(handler: (from: string, type: number, payload: Uint8Array) => void): void;
}
