import {
  constants,
  type FileHandle as NodeHandle,
  open,
  readdir,
  mkdir,
  access,
  rename,
  unlink,
  readFile,
  writeFile,
} from 'node:fs/promises';
import { writeSync } from 'node:fs';
import { resolve } from 'node:path';
import type { DirectoryLock, FileHandle, FileSystem, OpenMode } from './file-system.js';

/** Name of the lock file `NodeFileSystem.lockDirectory` creates inside a locked directory. */
export const LOCK_FILE_NAME = 'LOCK';

const openFlags: Record<OpenMode, number> = {
  read: constants.O_RDONLY,
  readwrite: constants.O_RDWR,
  create: constants.O_RDWR | constants.O_CREAT,
};

class NodeFileHandle implements FileHandle {
  constructor(private readonly handle: NodeHandle) {}

  async size(): Promise<number> {
    return (await this.handle.stat()).size;
  }

  async read(
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: number,
  ): Promise<number> {
    // The OS may return fewer bytes than asked before EOF; keep reading so callers see a short
    // count only at the end of the file.
    let total = 0;
    while (total < length) {
      const { bytesRead } = await this.handle.read(
        buffer,
        offset + total,
        length - total,
        position + total,
      );
      if (bytesRead === 0) break;
      total += bytesRead;
    }
    return total;
  }

  async write(buffer: Uint8Array, offset: number, length: number, position: number): Promise<void> {
    // A short write is legal for the OS (e.g. a signal or a nearly full disk); finish the job.
    let done = 0;
    while (done < length) {
      const { bytesWritten } = await this.handle.write(
        buffer,
        offset + done,
        length - done,
        position + done,
      );
      done += bytesWritten;
    }
  }

  writeOnLoop(buffer: Uint8Array, offset: number, length: number, position: number): void {
    // The same short-write rule as `write`; a failed write throws (EIO, ENOSPC) to the caller.
    let done = 0;
    while (done < length) {
      done += writeSync(this.handle.fd, buffer, offset + done, length - done, position + done);
    }
  }

  datasync(): Promise<void> {
    return this.handle.datasync();
  }

  truncate(length: number): Promise<void> {
    return this.handle.truncate(length);
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

function lockedError(directory: string, holder: string): Error {
  return Object.assign(new Error(`EBUSY: directory ${directory} is locked by ${holder}`), {
    code: 'EBUSY',
    path: directory,
  });
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM means the process exists but belongs to someone else: still alive.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Directories locked by this process; the lock file alone cannot tell two opens in one process apart. */
const lockedInThisProcess = new Set<string>();

/**
 * The `FileSystem` port on the real disk via `node:fs/promises`: `writeOnLoop` is `writeSync`
 * (the one synchronous call: a small write the log makes on the event loop), `datasync` is
 * fdatasync, `syncDirectory` opens the directory read-only and fsyncs it, and `lockDirectory` combines an
 * in-process registry with a lock file created exclusively (`O_EXCL`) holding the owner's pid.
 * A lock file left by a process that no longer exists (checked with `process.kill(pid, 0)`) is
 * stale and taken over. Limits: advisory only, and a recycled pid of a live unrelated process keeps
 * a stale lock held until the file is removed by hand.
 */
export class NodeFileSystem implements FileSystem {
  async open(path: string, mode: OpenMode): Promise<FileHandle> {
    return new NodeFileHandle(await open(path, openFlags[mode], 0o644));
  }

  async readdir(directory: string): Promise<string[]> {
    return (await readdir(directory)).sort();
  }

  async mkdir(directory: string): Promise<void> {
    await mkdir(directory, { recursive: true });
  }

  async exists(path: string): Promise<boolean> {
    try {
      await access(path);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
  }

  rename(from: string, to: string): Promise<void> {
    return rename(from, to);
  }

  unlink(path: string): Promise<void> {
    return unlink(path);
  }

  async syncDirectory(directory: string): Promise<void> {
    const handle = await open(directory, constants.O_RDONLY);
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  async lockDirectory(directory: string): Promise<DirectoryLock> {
    // Resolved, so './data' and '/srv/data' are the same lock within this process too.
    const key = resolve(directory);
    if (lockedInThisProcess.has(key)) throw lockedError(directory, 'this process');
    lockedInThisProcess.add(key);
    const lockPath = `${key}/${LOCK_FILE_NAME}`;
    try {
      await this.createLockFile(lockPath, directory);
    } catch (error) {
      lockedInThisProcess.delete(key);
      throw error;
    }
    let released = false;
    return {
      release: async () => {
        if (released) return;
        released = true;
        try {
          await unlink(lockPath);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        } finally {
          lockedInThisProcess.delete(key);
        }
      },
    };
  }

  private async createLockFile(lockPath: string, directory: string): Promise<void> {
    if (await tryCreate(lockPath)) return;
    const holder = Number.parseInt(await readFile(lockPath, 'utf8').catch(() => ''), 10);
    // Our own pid cannot be a live lock (the registry says this process holds none): the file was
    // left by an earlier process that had the same pid.
    const stale = !Number.isInteger(holder) || holder === process.pid || !processIsAlive(holder);
    if (!stale) throw lockedError(directory, `process ${holder}`);
    await unlink(lockPath).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
    // One retry: if another process took over the stale lock meanwhile, it wins.
    if (!(await tryCreate(lockPath))) throw lockedError(directory, 'another process');
  }
}

/** Creates the lock file exclusively with our pid; false if it already exists. */
async function tryCreate(lockPath: string): Promise<boolean> {
  try {
    await writeFile(lockPath, `${process.pid}\n`, { flag: 'wx' });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}
