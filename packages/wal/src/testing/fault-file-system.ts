import type { DirectoryLock, FileHandle, FileSystem, OpenMode } from '../file-system.js';

/** Uniform random numbers in [0, 1); seeded in simulation. */
export interface Random {
  next(): number;
}

/** The operations of the `FileSystem` port, as named in fault rules and the `delay` hook. */
export type FileOperation =
  | 'open'
  | 'size'
  | 'read'
  | 'write'
  | 'datasync'
  | 'truncate'
  | 'close'
  | 'readdir'
  | 'mkdir'
  | 'exists'
  | 'rename'
  | 'unlink'
  | 'syncDirectory'
  | 'lockDirectory';

/** A fault to inject: calls of `operation` on paths matching `path` fail with `code`. */
export interface FaultRule {
  /** Which operation fails. */
  operation: FileOperation;
  /** Only paths containing this string, or matching this pattern, fail; every path if omitted. */
  path?: string | RegExp;
  /** How many matching calls fail before the rule expires; unlimited if omitted. */
  times?: number;
  /** The error code; `EIO` if omitted. */
  code?: string;
}

/** Options of `FaultFileSystem`. */
export interface FaultFileSystemOptions {
  /** Decides which unsynced writes survive `crash()`; seed it to make a run reproducible. */
  random: Random;
  /** Granularity, in bytes, at which an unsynced write may be torn on `crash()`. Default 512. */
  sectorSize?: number;
  /**
   * Awaited before every operation takes effect, so a simulator can make disk operations take
   * virtual time. Operations take effect at once (in a microtask) when omitted.
   */
  delay?: (operation: FileOperation, path: string) => Promise<void> | void;
}

/** Counters of what the file system was asked to do, for assertions on batching. */
export interface FaultFileSystemStats {
  /** File writes that took effect. */
  writes: number;
  /** `datasync` calls that took effect. */
  datasyncs: number;
  /** `syncDirectory` calls that took effect. */
  directorySyncs: number;
  /** `crash()` calls. */
  crashes: number;
}

type PendingChange =
  { kind: 'write'; position: number; bytes: Uint8Array } | { kind: 'truncate'; length: number };

/** A growable byte array with a length: the contents of a file, either as written or as durable. */
class Bytes {
  data = new Uint8Array(64);
  size = 0;

  content(): Uint8Array {
    return this.data.subarray(0, this.size);
  }

  resize(length: number): void {
    if (length > this.data.length) {
      const grown = new Uint8Array(Math.max(length, this.data.length * 2));
      grown.set(this.content());
      this.data = grown;
    } else if (length < this.size) {
      this.data.fill(0, length, this.size);
    }
    this.size = length;
  }

  write(bytes: Uint8Array, position: number): void {
    if (position + bytes.length > this.size) this.resize(position + bytes.length);
    this.data.set(bytes, position);
  }

  apply(change: PendingChange): void {
    if (change.kind === 'truncate') this.resize(change.length);
    else this.write(change.bytes, change.position);
  }
}

/** File contents, shared by every name (in either namespace) and handle that refers to it. */
class Inode extends Bytes {
  /**
   * What survives a crash. Kept up to date by replaying the changes a sync makes durable, so a
   * datasync costs the bytes written since the last one, not the size of the file (a log that
   * syncs every append would otherwise copy itself each time).
   */
  durable = new Bytes();
  pending: PendingChange[] = [];

  sync(): void {
    for (const change of this.pending) this.durable.apply(change);
    this.pending = [];
  }

  /** Power loss: keep the durable bytes, then a random subset of the unsynced changes. */
  crash(random: Random, sectorSize: number): void {
    const survivor = new Bytes();
    survivor.write(this.durable.content(), 0);
    for (const change of this.pending) {
      const roll = random.next();
      if (change.kind === 'truncate') {
        if (roll < 0.5) survivor.resize(change.length);
      } else if (roll < 1 / 3) {
        survivor.write(change.bytes, change.position);
      } else if (roll < 2 / 3) {
        // dropped entirely
      } else {
        // Torn: each sector the write touches reached the platter or did not, independently.
        let start = 0;
        while (start < change.bytes.length) {
          const sectorEnd = (Math.floor((change.position + start) / sectorSize) + 1) * sectorSize;
          const end = Math.min(change.bytes.length, sectorEnd - change.position);
          if (random.next() < 0.5) {
            survivor.write(change.bytes.subarray(start, end), change.position + start);
          }
          start = end;
        }
      }
    }
    this.data = survivor.data;
    this.size = survivor.size;
    this.durable = new Bytes();
    this.durable.write(this.content(), 0);
    this.pending = [];
  }
}

function fsError(code: string, operation: string, path: string, detail = ''): Error {
  return Object.assign(new Error(`${code}: ${operation} ${path}${detail ? ` (${detail})` : ''}`), {
    code,
    syscall: operation,
    path,
  });
}

function normalize(path: string): string {
  const absolute = path.startsWith('/');
  const parts = path.split('/').filter((part) => part !== '' && part !== '.');
  return (absolute ? '/' : '') + parts.join('/');
}

function split(path: string): [directory: string, name: string] {
  const normalized = normalize(path);
  const slash = normalized.lastIndexOf('/');
  if (slash < 0) return ['', normalized];
  return [slash === 0 ? '/' : normalized.slice(0, slash), normalized.slice(slash + 1)];
}

function join(directory: string, name: string): string {
  return directory === '' ? name : directory === '/' ? `/${name}` : `${directory}/${name}`;
}

type Namespace = Map<string, Map<string, Inode>>;

function copyNamespace(namespace: Namespace): Namespace {
  return new Map([...namespace].map(([directory, entries]) => [directory, new Map(entries)]));
}

/**
 * An in-memory `FileSystem` that models power loss and injects faults, for tests and the
 * deterministic simulator. Deterministic given the seeded `random`.
 *
 * Durability model (what `crash()` keeps):
 * - file bytes and size as of the last `datasync` of that file; each later write is kept whole,
 *   dropped, or torn (each `sectorSize` sector it touches kept or not), and each later truncate
 *   kept or not; gaps left by dropped sectors read as zeros;
 * - directory entries (creates, renames, unlinks) as of the last `syncDirectory` of their
 *   directory; a file whose name never became durable is gone;
 * - directories themselves are durable as soon as `mkdir` returns (a simplification);
 * - locks are released and every handle opened before the crash is dead (`EBADF`).
 *
 * Faults: `injectFault` makes chosen operations fail with an error code (`EIO` by default), and
 * `limitSpace` makes writes fail with `ENOSPC` (after writing what fits) once a byte budget of
 * file growth is used up. `flipBit` and `overwrite` corrupt data at rest, as a bad disk would.
 *
 * Handles offer `writeOnLoop` (the same write, synchronous) unless a `delay` is set: a simulated
 * disk's writes take its time through `write`.
 */
export class FaultFileSystem implements FileSystem {
  /** Counters of operations that took effect. */
  readonly stats: FaultFileSystemStats = { writes: 0, datasyncs: 0, directorySyncs: 0, crashes: 0 };

  private readonly random: Random;
  private readonly sectorSize: number;
  private readonly delay: FaultFileSystemOptions['delay'];
  private current: Namespace = new Map([
    ['', new Map<string, Inode>()],
    ['/', new Map<string, Inode>()],
  ]);
  private durable: Namespace = copyNamespace(this.current);
  private readonly locks = new Set<string>();
  private faults: (Required<Omit<FaultRule, 'path'>> & Pick<FaultRule, 'path'>)[] = [];
  private spaceLeft = Number.POSITIVE_INFINITY;
  private epoch = 0;
  private callerEpoch: number | undefined;

  constructor(options: FaultFileSystemOptions) {
    this.random = options.random;
    this.sectorSize = options.sectorSize ?? 512;
    this.delay = options.delay;
  }

  /** Makes matching calls fail from now on (see `FaultRule`). */
  injectFault(rule: FaultRule): void {
    this.faults.push({ times: Number.POSITIVE_INFINITY, code: 'EIO', ...rule });
  }

  /** Removes every injected fault and the space limit. */
  clearFaults(): void {
    this.faults = [];
    this.spaceLeft = Number.POSITIVE_INFINITY;
  }

  /**
   * Lets files grow by at most `bytes` more in total (`undefined`: unlimited); a write that does
   * not fit writes the part that does, then fails with `ENOSPC`. Shrinking files refunds nothing.
   */
  limitSpace(bytes: number | undefined): void {
    this.spaceLeft = bytes ?? Number.POSITIVE_INFINITY;
  }

  /**
   * Power loss: every file reverts to what was made durable plus a random subset of its unsynced
   * changes, every directory to its last synced entries; locks are released and handles die.
   */
  crash(): void {
    this.epoch++;
    this.stats.crashes++;
    this.locks.clear();
    // Sorted by path so the random draws happen in a reproducible order.
    const ordered = [...this.durable]
      .flatMap(([directory, entries]) =>
        [...entries].map(([name, inode]) => [join(directory, name), inode] as const),
      )
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const done = new Set<Inode>();
    for (const [, inode] of ordered) {
      if (done.has(inode)) continue;
      done.add(inode);
      inode.crash(this.random, this.sectorSize);
    }
    this.current = copyNamespace(this.durable);
  }

  /**
   * A view of this file system for one process lifetime: after the next `crash()` every call
   * through it rejects (`EBADF`), as a dead process touches nothing more. Give each incarnation of
   * a simulated process its own view, so work still in flight in the old one cannot reach the
   * recovered disk.
   */
  processView(): FileSystem {
    const epoch = this.epoch;
    const run = <R>(operation: string, path: string, start: () => Promise<R>): Promise<R> => {
      if (epoch !== this.epoch) {
        return Promise.reject(fsError('EBADF', operation, path, 'process crashed'));
      }
      // Async methods run synchronously up to their first await, where they read the epoch.
      this.callerEpoch = epoch;
      try {
        return start();
      } finally {
        this.callerEpoch = undefined;
      }
    };
    return {
      open: (path, mode) => run('open', path, () => this.open(path, mode)),
      readdir: (directory) => run('readdir', directory, () => this.readdir(directory)),
      mkdir: (directory) => run('mkdir', directory, () => this.mkdir(directory)),
      exists: (path) => run('exists', path, () => this.exists(path)),
      rename: (from, to) => run('rename', from, () => this.rename(from, to)),
      unlink: (path) => run('unlink', path, () => this.unlink(path)),
      syncDirectory: (directory) =>
        run('syncDirectory', directory, () => this.syncDirectory(directory)),
      lockDirectory: (directory) =>
        run('lockDirectory', directory, () => this.lockDirectory(directory)),
    };
  }

  /** What a read of `path` would see now, or `undefined` if there is no such file. */
  fileContent(path: string): Uint8Array | undefined {
    return this.lookup(this.current, path)?.content().slice();
  }

  /** What `path` would hold after a crash that dropped every unsynced change, or `undefined`. */
  durableFileContent(path: string): Uint8Array | undefined {
    return this.lookup(this.durable, path)?.durable.content().slice();
  }

  /** Paths of every file in the current namespace, sorted. */
  listFiles(): string[] {
    return [...this.current]
      .flatMap(([directory, entries]) => [...entries.keys()].map((name) => join(directory, name)))
      .sort();
  }

  /** Corrupts data at rest: flips bit `bit` (0-7) of byte `position` of `path`, synced or not. */
  flipBit(path: string, position: number, bit = 0): void {
    const inode = this.requireInode(path);
    if (position >= inode.size)
      throw new RangeError(`flipBit: ${path} has only ${inode.size} bytes`);
    inode.data[position]! ^= 1 << bit;
    if (position < inode.durable.size) inode.durable.data[position]! ^= 1 << bit;
    // An unsynced write of this byte would restore it on the next sync: flip it there too.
    const write = inode.pending.findLast(
      (change) =>
        change.kind === 'write' &&
        change.position <= position &&
        position < change.position + change.bytes.length,
    );
    if (write?.kind === 'write') write.bytes[position - write.position]! ^= 1 << bit;
  }

  /**
   * Loses data at rest, as an operator's `rm -rf directory` that reached the disk: the directory
   * and every file and subdirectory under it are gone, in both current and durable state.
   * Synchronous, so a test can wipe the disk of a crashed process.
   */
  removeTree(directory: string): void {
    const root = normalize(directory);
    const [parent, name] = split(root);
    for (const namespace of [this.current, this.durable]) {
      for (const path of [...namespace.keys()]) {
        if (path === root || path.startsWith(root === '/' ? '/' : `${root}/`))
          namespace.delete(path);
      }
      if (root === '/') namespace.set('/', new Map());
      else namespace.get(parent)?.delete(name);
    }
  }

  /** Corrupts data at rest: overwrites bytes of `path` at `position`, in both current and durable state. */
  overwrite(path: string, position: number, bytes: Uint8Array): void {
    const inode = this.requireInode(path);
    inode.write(bytes, position);
    inode.pending.push({ kind: 'write', position, bytes: bytes.slice() });
    inode.sync();
  }

  async open(path: string, mode: OpenMode): Promise<FileHandle> {
    const epoch = this.callEpoch();
    await this.enter('open', path, epoch);
    this.assertAlive(epoch, 'open', path);
    const [directory, name] = split(path);
    const entries = this.current.get(directory);
    if (!entries) throw fsError('ENOENT', 'open', path);
    let inode = entries.get(name);
    if (!inode) {
      if (mode !== 'create') throw fsError('ENOENT', 'open', path);
      if (this.current.has(normalize(path))) throw fsError('EISDIR', 'open', path);
      inode = new Inode();
      entries.set(name, inode);
    }
    return this.handleFor(inode, normalize(path), mode === 'read', epoch);
  }

  async readdir(directory: string): Promise<string[]> {
    const epoch = this.callEpoch();
    await this.enter('readdir', directory, epoch);
    this.assertAlive(epoch, 'readdir', directory);
    const entries = this.current.get(normalize(directory));
    if (!entries) throw fsError('ENOENT', 'readdir', directory);
    const prefix = join(normalize(directory), '');
    const subdirectories = [...this.current.keys()]
      .filter(
        (path) =>
          path.startsWith(prefix) &&
          path.length > prefix.length &&
          !path.slice(prefix.length).includes('/'),
      )
      .map((path) => path.slice(prefix.length));
    return [...entries.keys(), ...subdirectories].sort();
  }

  async mkdir(directory: string): Promise<void> {
    const epoch = this.callEpoch();
    await this.enter('mkdir', directory, epoch);
    this.assertAlive(epoch, 'mkdir', directory);
    const normalized = normalize(directory);
    const parts = normalized.split('/');
    for (let i = 1; i <= parts.length; i++) {
      const path = parts.slice(0, i).join('/') || '/';
      if (path === '') continue;
      if (!this.current.has(path)) this.current.set(path, new Map());
      if (!this.durable.has(path)) this.durable.set(path, new Map());
    }
  }

  async exists(path: string): Promise<boolean> {
    const epoch = this.callEpoch();
    await this.enter('exists', path, epoch);
    this.assertAlive(epoch, 'exists', path);
    return this.current.has(normalize(path)) || this.lookup(this.current, path) !== undefined;
  }

  async rename(from: string, to: string): Promise<void> {
    const epoch = this.callEpoch();
    await this.enter('rename', from, epoch);
    this.assertAlive(epoch, 'rename', from);
    const [fromDirectory, fromName] = split(from);
    const [toDirectory, toName] = split(to);
    const inode = this.current.get(fromDirectory)?.get(fromName);
    if (!inode) throw fsError('ENOENT', 'rename', from);
    const target = this.current.get(toDirectory);
    if (!target) throw fsError('ENOENT', 'rename', to);
    this.current.get(fromDirectory)!.delete(fromName);
    target.set(toName, inode);
  }

  async unlink(path: string): Promise<void> {
    const epoch = this.callEpoch();
    await this.enter('unlink', path, epoch);
    this.assertAlive(epoch, 'unlink', path);
    const [directory, name] = split(path);
    if (!this.current.get(directory)?.delete(name)) throw fsError('ENOENT', 'unlink', path);
  }

  async syncDirectory(directory: string): Promise<void> {
    const epoch = this.callEpoch();
    await this.enter('syncDirectory', directory, epoch);
    this.assertAlive(epoch, 'syncDirectory', directory);
    const normalized = normalize(directory);
    const entries = this.current.get(normalized);
    if (!entries) throw fsError('ENOENT', 'syncDirectory', directory);
    this.durable.set(normalized, new Map(entries));
    this.stats.directorySyncs++;
  }

  async lockDirectory(directory: string): Promise<DirectoryLock> {
    const epoch = this.callEpoch();
    await this.enter('lockDirectory', directory, epoch);
    this.assertAlive(epoch, 'lockDirectory', directory);
    const key = normalize(directory);
    if (!this.current.has(key)) throw fsError('ENOENT', 'lockDirectory', directory);
    if (this.locks.has(key)) throw fsError('EBUSY', 'lockDirectory', directory, 'already locked');
    this.locks.add(key);
    let released = false;
    return {
      release: () => {
        // A crash already released it; the new holder's lock must stay.
        if (!released && epoch === this.epoch) this.locks.delete(key);
        released = true;
        return Promise.resolve();
      },
    };
  }

  private lookup(namespace: Namespace, path: string): Inode | undefined {
    const [directory, name] = split(path);
    return namespace.get(directory)?.get(name);
  }

  private requireInode(path: string): Inode {
    const inode = this.lookup(this.current, path);
    if (!inode) throw fsError('ENOENT', 'inspect', path);
    return inode;
  }

  /** The epoch of the process making the current call (read synchronously at call time). */
  private callEpoch(): number {
    return this.callerEpoch ?? this.epoch;
  }

  /** Effects must re-check right before they apply: a crash may have happened during any await. */
  private assertAlive(epoch: number, operation: string, path: string): void {
    if (epoch !== this.epoch) throw fsError('EBADF', operation, path, 'process crashed');
  }

  private async enter(operation: FileOperation, path: string, epoch: number): Promise<void> {
    if (this.delay) await this.delay(operation, path);
    this.enterNow(operation, path, epoch);
  }

  /** The checks of `enter` without its delay, for calls that take effect at once. */
  private enterNow(operation: FileOperation, path: string, epoch: number): void {
    // A call from a process that crashed meanwhile never takes effect.
    if (epoch !== this.epoch) throw fsError('EBADF', operation, path, 'process crashed');
    for (const rule of this.faults) {
      if (rule.operation !== operation || rule.times <= 0) continue;
      const matches =
        rule.path === undefined ||
        (typeof rule.path === 'string' ? path.includes(rule.path) : rule.path.test(path));
      if (!matches) continue;
      rule.times--;
      throw fsError(rule.code, operation, path, 'injected fault');
    }
  }

  private handleFor(inode: Inode, path: string, readOnly: boolean, epoch: number): FileHandle {
    let closed = false;
    const assertOpen = (operation: FileOperation): void => {
      if (closed || epoch !== this.epoch) {
        throw fsError('EBADF', operation, path, closed ? 'closed' : 'crashed');
      }
    };
    const check = async (operation: FileOperation): Promise<void> => {
      assertOpen(operation);
      await this.enter(operation, path, epoch);
    };
    const writeNow = (buffer: Uint8Array, offset: number, length: number, position: number) => {
      assertOpen('write');
      if (readOnly) throw fsError('EBADF', 'write', path, 'opened read-only');
      let bytes = buffer.slice(offset, offset + length);
      const growth = Math.max(0, position + length - inode.size);
      const noSpace = growth > this.spaceLeft;
      if (noSpace) bytes = bytes.subarray(0, Math.max(0, length - (growth - this.spaceLeft)));
      this.spaceLeft -= Math.min(growth, this.spaceLeft);
      if (bytes.length > 0) {
        inode.write(bytes, position);
        inode.pending.push({ kind: 'write', position, bytes });
        this.stats.writes++;
      }
      if (noSpace) throw fsError('ENOSPC', 'write', path, 'space limit reached');
    };
    return {
      size: async () => {
        await check('size');
        assertOpen('size');
        return inode.size;
      },
      read: async (buffer, offset, length, position) => {
        await check('read');
        assertOpen('read');
        const count = Math.max(0, Math.min(length, inode.size - position));
        buffer.set(inode.data.subarray(position, position + count), offset);
        return count;
      },
      write: async (buffer, offset, length, position) => {
        await check('write');
        writeNow(buffer, offset, length, position);
      },
      // Without a delay every operation takes effect at once anyway; with one, writes take the
      // simulated disk's time through `write`.
      ...(this.delay
        ? {}
        : {
            writeOnLoop: (buffer: Uint8Array, offset: number, length: number, position: number) => {
              assertOpen('write');
              this.enterNow('write', path, epoch);
              writeNow(buffer, offset, length, position);
            },
          }),
      datasync: async () => {
        await check('datasync');
        assertOpen('datasync');
        inode.sync();
        this.stats.datasyncs++;
      },
      truncate: async (length) => {
        await check('truncate');
        assertOpen('truncate');
        if (readOnly) throw fsError('EBADF', 'truncate', path, 'opened read-only');
        inode.resize(length);
        inode.pending.push({ kind: 'truncate', length });
      },
      close: async () => {
        await check('close');
        assertOpen('close');
        closed = true;
      },
    };
  }
}
