import type { DirectoryLock, FileHandle, FileSystem, OpenMode } from '@x/wal';
import { nextTurn } from './node-event-loop.js';

/**
 * A file system whose operations, while held, take effect at once on the file system underneath
 * but report their completion only when the test says, last issued first: as a real disk's
 * thread pool may report an fsync issued later before an earlier write. Code over it must not
 * take completion order for issue order.
 */
export class HeldFileSystem implements FileSystem {
  private holding = false;
  private readonly held: (() => void)[] = [];

  constructor(private readonly inner: FileSystem) {}

  /** From now on, completions wait until {@link completeLastFirst}. */
  hold(): void {
    this.holding = true;
  }

  /** How many completed operations have not been reported yet. */
  get heldCount(): number {
    return this.held.length;
  }

  /**
   * Reports every held completion, the last issued first, then what that let the code issue
   * next (again last first), turn after turn until nothing more arrives; then stops holding.
   */
  async completeLastFirst(): Promise<void> {
    for (let quietTurns = 0; quietTurns < 10;) {
      const batch = this.held.splice(0).reverse();
      quietTurns = batch.length === 0 ? quietTurns + 1 : 0;
      for (const report of batch) report();
      await nextTurn();
    }
    this.holding = false;
  }

  private reported<T>(operation: Promise<T>): Promise<T> {
    if (!this.holding) return operation;
    return new Promise<T>((resolve) => {
      // Settled with the operation itself, so a failure keeps its error as it is.
      const report = (): void => void this.held.push(() => resolve(operation));
      operation.then(report, report);
    });
  }

  async open(path: string, mode: OpenMode): Promise<FileHandle> {
    const handle = await this.reported(this.inner.open(path, mode));
    return {
      size: () => this.reported(handle.size()),
      read: (buffer, offset, length, position) =>
        this.reported(handle.read(buffer, offset, length, position)),
      write: (buffer, offset, length, position) =>
        this.reported(handle.write(buffer, offset, length, position)),
      datasync: () => this.reported(handle.datasync()),
      truncate: (length) => this.reported(handle.truncate(length)),
      close: () => this.reported(handle.close()),
    };
  }

  readdir(directory: string): Promise<string[]> {
    return this.reported(this.inner.readdir(directory));
  }

  mkdir(directory: string): Promise<void> {
    return this.reported(this.inner.mkdir(directory));
  }

  exists(path: string): Promise<boolean> {
    return this.reported(this.inner.exists(path));
  }

  rename(from: string, to: string): Promise<void> {
    return this.reported(this.inner.rename(from, to));
  }

  unlink(path: string): Promise<void> {
    return this.reported(this.inner.unlink(path));
  }

  syncDirectory(directory: string): Promise<void> {
    return this.reported(this.inner.syncDirectory(directory));
  }

  lockDirectory(directory: string): Promise<DirectoryLock> {
    return this.reported(this.inner.lockDirectory(directory));
  }
}
