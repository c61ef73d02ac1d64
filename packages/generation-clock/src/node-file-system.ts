import { constants } from 'node:fs';
import { mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import type { FileHandle as NodeFileHandle } from 'node:fs/promises';
import type { FileHandle, FileSystem, OpenMode } from './file-system.js';

const openFlags: Record<OpenMode, number> = {
  read: constants.O_RDONLY,
  readwrite: constants.O_RDWR,
  // Not 'a+': on Linux, positional writes to a file opened for appending go to the end.
  create: constants.O_RDWR | constants.O_CREAT,
};

/** Wraps a Node file handle in the port's shape. */
function wrap(handle: NodeFileHandle): FileHandle {
  return {
    size: async () => (await handle.stat()).size,
    read: async (buffer, offset, length, position) =>
      (await handle.read(buffer, offset, length, position)).bytesRead,
    write: async (buffer, offset, length, position) => {
      let written = 0;
      while (written < length) {
        const { bytesWritten } = await handle.write(
          buffer,
          offset + written,
          length - written,
          position + written,
        );
        written += bytesWritten;
      }
    },
    datasync: () => handle.datasync(),
    truncate: (length) => handle.truncate(length),
    close: () => handle.close(),
  };
}

/**
 * The real {@link FileSystem} for the generation store, on `node:fs/promises`: just the members
 * the store uses. POSIX only (directory fsync is not available on Windows).
 */
export class NodeFileSystem implements FileSystem {
  /** Opens `path` (see {@link OpenMode}); new files get mode 0644. */
  async open(path: string, mode: OpenMode): Promise<FileHandle> {
    return wrap(await open(path, openFlags[mode], 0o644));
  }

  /** Creates the directory and its parents if missing. */
  async mkdir(directory: string): Promise<void> {
    await mkdir(directory, { recursive: true });
  }

  /** Whether a file or directory exists at `path`. */
  async exists(path: string): Promise<boolean> {
    try {
      await stat(path);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
  }

  /** Renames atomically, replacing `to`. */
  rename(from: string, to: string): Promise<void> {
    return rename(from, to);
  }

  /** Deletes a file. */
  unlink(path: string): Promise<void> {
    return unlink(path);
  }

  /** fsyncs the directory, making creates, renames and deletes in it durable. */
  async syncDirectory(directory: string): Promise<void> {
    const handle = await open(directory, constants.O_RDONLY);
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
}
