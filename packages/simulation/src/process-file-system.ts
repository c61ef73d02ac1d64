import type { FileHandle, FileSystem, OpenMode } from './ports.js';
import type { ProcessGate } from './process-gate.js';

// A promise that never settles: what a call made by a dead process gets. Its continuation never
// runs, just as nothing runs in a process after SIGKILL.
function never<T>(): Promise<T> {
  return new Promise<T>(() => undefined);
}

/**
 * The file system as one process incarnation sees it. Calls made after that incarnation crashed
 * (by code still running in leftover microtasks) never settle and never touch the disk, so a
 * zombie can never write into its successor's files. Directory locks taken by the incarnation are
 * released when it dies, as the kernel releases them when a process exits.
 */
export class ProcessFileSystem implements FileSystem {
  private readonly locks: { release(): Promise<void> }[] = [];

  /** Binds `disk` to one incarnation of the process behind `gate`. */
  constructor(
    private readonly disk: FileSystem,
    private readonly gate: ProcessGate,
    private readonly incarnation: number,
  ) {}

  private get alive(): boolean {
    return this.gate.isCurrent(this.incarnation);
  }

  /** Opens a file; see the FileSystem port. */
  async open(path: string, mode: OpenMode): Promise<FileHandle> {
    if (!this.alive) return never();
    const handle = await this.disk.open(path, mode);
    return this.wrapHandle(handle);
  }

  /** Lists a directory; see the FileSystem port. */
  readdir(directory: string): Promise<string[]> {
    return this.alive ? this.disk.readdir(directory) : never();
  }

  /** Creates a directory and its parents; see the FileSystem port. */
  mkdir(directory: string): Promise<void> {
    return this.alive ? this.disk.mkdir(directory) : never();
  }

  /** Whether a path exists; see the FileSystem port. */
  exists(path: string): Promise<boolean> {
    return this.alive ? this.disk.exists(path) : never();
  }

  /** Renames a file; see the FileSystem port. */
  rename(from: string, to: string): Promise<void> {
    return this.alive ? this.disk.rename(from, to) : never();
  }

  /** Deletes a file; see the FileSystem port. */
  unlink(path: string): Promise<void> {
    return this.alive ? this.disk.unlink(path) : never();
  }

  /** fsync of a directory; see the FileSystem port. */
  syncDirectory(directory: string): Promise<void> {
    return this.alive ? this.disk.syncDirectory(directory) : never();
  }

  /** Locks a directory until released or until this incarnation dies. */
  async lockDirectory(directory: string): Promise<{ release(): Promise<void> }> {
    if (!this.alive) return never();
    const lock = await this.disk.lockDirectory(directory);
    this.locks.push(lock);
    return lock;
  }

  /** Releases every lock this incarnation holds (it died). */
  releaseLocks(): void {
    for (const lock of this.locks.splice(0)) void lock.release();
  }

  private wrapHandle(handle: FileHandle): FileHandle {
    const alive = (): boolean => this.alive;
    return {
      size: () => (alive() ? handle.size() : never()),
      read: (buffer, offset, length, position) =>
        alive() ? handle.read(buffer, offset, length, position) : never(),
      write: (buffer, offset, length, position) =>
        alive() ? handle.write(buffer, offset, length, position) : never(),
      datasync: () => (alive() ? handle.datasync() : never()),
      truncate: (length) => (alive() ? handle.truncate(length) : never()),
      close: () => (alive() ? handle.close() : never()),
    };
  }
}
