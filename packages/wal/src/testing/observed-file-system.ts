import type { FileHandle, FileSystem } from '../file-system.js';

/**
 * `inner`, with each handle that `open` returns passed through, except the methods `observe`
 * gives for it (a counter of reads, writes or fdatasyncs, a delay, a fault): for tests and
 * benchmarks that watch what the log does to a file system without writing one. A handle keeps
 * `writeOnLoop` only if the inner one has it, so the log takes the same path as on `inner`.
 */
export function observedFileSystem(
  inner: FileSystem,
  observe: (handle: FileHandle, path: string) => Partial<FileHandle>,
): FileSystem {
  return {
    open: async (path, mode) => {
      const handle = await inner.open(path, mode);
      return {
        size: () => handle.size(),
        read: (buffer, offset, length, position) => handle.read(buffer, offset, length, position),
        write: (buffer, offset, length, position) => handle.write(buffer, offset, length, position),
        ...(handle.writeOnLoop !== undefined && {
          writeOnLoop: (buffer: Uint8Array, offset: number, length: number, position: number) =>
            handle.writeOnLoop!(buffer, offset, length, position),
        }),
        datasync: () => handle.datasync(),
        truncate: (length) => handle.truncate(length),
        close: () => handle.close(),
        ...observe(handle, path),
      };
    },
    readdir: (directory) => inner.readdir(directory),
    mkdir: (directory) => inner.mkdir(directory),
    exists: (path) => inner.exists(path),
    rename: (from, to) => inner.rename(from, to),
    unlink: (path) => inner.unlink(path),
    syncDirectory: (directory) => inner.syncDirectory(directory),
    lockDirectory: (directory) => inner.lockDirectory(directory),
  };
}
