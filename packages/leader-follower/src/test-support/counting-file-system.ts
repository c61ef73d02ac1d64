import type { DirectoryLock, FileHandle, FileSystem, OpenMode } from '@x/wal';

/** A file system that counts the bytes read through it, per file (to measure how often recovery reads the log). */
export class CountingFileSystem implements FileSystem {
  /** Bytes read so far, by path. */
  readonly bytesRead = new Map<string, number>();

  constructor(private readonly inner: FileSystem) {}

  /** Bytes read so far from files whose path contains `part`. */
  bytesReadUnder(part: string): number {
    let total = 0;
    for (const [path, bytes] of this.bytesRead) if (path.includes(part)) total += bytes;
    return total;
  }

  /** Forgets what was counted. */
  reset(): void {
    this.bytesRead.clear();
  }

  async open(path: string, mode: OpenMode): Promise<FileHandle> {
    const handle = await this.inner.open(path, mode);
    return {
      size: () => handle.size(),
      read: async (buffer, offset, length, position) => {
        const count = await handle.read(buffer, offset, length, position);
        this.bytesRead.set(path, (this.bytesRead.get(path) ?? 0) + count);
        return count;
      },
      write: (buffer, offset, length, position) => handle.write(buffer, offset, length, position),
      datasync: () => handle.datasync(),
      truncate: (length) => handle.truncate(length),
      close: () => handle.close(),
    };
  }

  readdir(directory: string): Promise<string[]> {
    return this.inner.readdir(directory);
  }

  mkdir(directory: string): Promise<void> {
    return this.inner.mkdir(directory);
  }

  exists(path: string): Promise<boolean> {
    return this.inner.exists(path);
  }

  rename(from: string, to: string): Promise<void> {
    return this.inner.rename(from, to);
  }

  unlink(path: string): Promise<void> {
    return this.inner.unlink(path);
  }

  syncDirectory(directory: string): Promise<void> {
    return this.inner.syncDirectory(directory);
  }

  lockDirectory(directory: string): Promise<DirectoryLock> {
    return this.inner.lockDirectory(directory);
  }
}
