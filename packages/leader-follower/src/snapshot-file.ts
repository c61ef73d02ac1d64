import { crc32c } from '@x/wal';
import type { FileHandle, FileSystem } from '@x/wal';
import type { Snapshot, SnapshotData, SnapshotMetadata } from './log-entry.js';

// Format 2 ("LFS2", written): the checksum covers the data and then header bytes 4..24 (index,
// generation, length), so a damaged header is refused like damaged data. Format 1 ("LFS1", still
// read) covered the data only: a flipped bit in its index or generation went unnoticed.
const MAGIC = 0x4c465332; // "LFS2"
const MAGIC_DATA_CHECKSUM_ONLY = 0x4c465331; // "LFS1"
const HEADER_BYTES = 4 + 8 + 8 + 4 + 4; // magic, index, generation, length, checksum
/** The header bytes (index, generation, length) the format-2 checksum covers after the data. */
const CHECKED_HEADER_START = 4;
const CHECKED_HEADER_END = 24;
const TWO_TO_32 = 4294967296;
/** The header stores the data length in 32 bits. */
const MAX_DATA_BYTES = TWO_TO_32 - 1;
/** Bytes read at a time when a snapshot is streamed from disk. */
const DEFAULT_READ_CHUNK_BYTES = 1 << 20;

/** Thrown when the snapshot file exists but is damaged: the node must not start from it. */
export class SnapshotCorruptionError extends Error {
  override readonly name = 'SnapshotCorruptionError';
}

interface Header {
  readonly index: number;
  readonly generation: number;
  readonly dataBytes: number;
  readonly checksum: number;
  /** Header bytes the checksum covers after the data (empty for format 1). */
  readonly checkedHeader: Uint8Array;
}

/**
 * A stored snapshot opened for reading. Everything is read through one open file, so a later
 * replacement of the snapshot file (a newer snapshot renamed over it) does not change what this
 * reads. Close it when done.
 */
export class StoredSnapshot {
  private iterated = false;
  private checked = false;

  /** @internal Built by {@link SnapshotFile}. */
  constructor(
    private readonly handle: Pick<FileHandle, 'read' | 'close'>,
    private readonly path: string,
    private readonly header: Header,
  ) {}

  /** Index, generation and size of the whole file (as sent to followers). */
  get metadata(): SnapshotMetadata {
    return {
      index: this.header.index,
      generation: this.header.generation,
      sizeBytes: HEADER_BYTES + this.header.dataBytes,
    };
  }

  /**
   * The state machine's bytes as chunks of at most `chunkBytes`, read in order as they are
   * consumed; can be iterated once. The checksum covers the whole, so it is checked when the last
   * chunk has been read: the iteration then throws {@link SnapshotCorruptionError} instead of
   * finishing. A consumer must therefore not act on the data before the iteration has ended.
   */
  async *chunks(chunkBytes = DEFAULT_READ_CHUNK_BYTES): AsyncGenerator<Uint8Array> {
    if (this.iterated) throw new Error(`${this.path}: a stored snapshot can be read only once`);
    this.iterated = true;
    const size = Math.max(1, chunkBytes);
    let checksum = 0;
    for (let offset = 0; offset < this.header.dataBytes; offset += size) {
      const length = Math.min(size, this.header.dataBytes - offset);
      const chunk = await readFully(this.handle, HEADER_BYTES + offset, length);
      if (chunk.length !== length) {
        throw new SnapshotCorruptionError(`${this.path}: ended at ${HEADER_BYTES + offset}`);
      }
      checksum = crc32c(chunk, 0, chunk.length, checksum);
      if (offset + length >= this.header.dataBytes) this.check(checksum);
      yield chunk;
    }
    if (this.header.dataBytes === 0) this.check(0);
  }

  private check(dataChecksum: number): void {
    const { checkedHeader } = this.header;
    const checksum = crc32c(checkedHeader, 0, checkedHeader.length, dataChecksum);
    if (checksum !== this.header.checksum) {
      throw new SnapshotCorruptionError(`${this.path}: checksum mismatch`);
    }
    this.checked = true;
  }

  /** Whether all the data has been read and matched its checksum. */
  get verified(): boolean {
    return this.checked;
  }

  /** The whole state machine's bytes in one buffer, checksum verified. */
  async readAll(): Promise<Uint8Array> {
    const data = new Uint8Array(this.header.dataBytes);
    let offset = 0;
    for await (const chunk of this.chunks()) {
      data.set(chunk, offset);
      offset += chunk.length;
    }
    return data;
  }

  /** Reads the data once to check its checksum. @throws SnapshotCorruptionError on a mismatch. */
  async verify(): Promise<void> {
    const iterator = this.chunks();
    while (!(await iterator.next()).done);
  }

  /** Closes the file. */
  close(): Promise<void> {
    return this.handle.close();
  }
}

/**
 * The latest snapshot in one checksummed file, replaced atomically: write a temporary file,
 * fdatasync, rename over the real one, fsync the directory. After a crash the file holds the
 * previous snapshot or the new one, never a mix.
 *
 * Snapshots of any size pass through in chunks: {@link save} writes a state machine's chunks as
 * they are produced (the checksum is computed on the way), {@link StoredSnapshot.chunks} reads
 * them back, a leader sends the file's bytes (header included) to lagging followers in ranges
 * read on demand ({@link readRange}), and a follower writes them to `<name>.incoming` as they
 * arrive ({@link writeIncoming}) and, once complete, verifies and renames it over the snapshot
 * ({@link installIncoming}). No whole snapshot need be held in memory at any step.
 */
export class SnapshotFile {
  private readonly path: string;
  private readonly incomingPath: string;

  constructor(
    private readonly fileSystem: FileSystem,
    private readonly directory: string,
    name = 'snapshot',
  ) {
    this.path = `${directory}/${name}`;
    this.incomingPath = `${this.path}.incoming`;
  }

  /** The metadata of `snapshot` once stored: its size is the whole file's. */
  static metadataOf(snapshot: Snapshot): SnapshotMetadata {
    return {
      index: snapshot.index,
      generation: snapshot.generation,
      sizeBytes: HEADER_BYTES + snapshot.data.length,
    };
  }

  /**
   * The saved snapshot read whole, or undefined when none was ever saved.
   * @throws SnapshotCorruptionError when the file fails its checks.
   */
  async load(): Promise<Snapshot | undefined> {
    const stored = await this.open();
    if (stored === undefined) return undefined;
    try {
      const { index, generation } = stored.metadata;
      return { index, generation, data: await stored.readAll() };
    } finally {
      await stored.close();
    }
  }

  /**
   * Opens the saved snapshot for reading, or resolves undefined when none was ever saved. The
   * header is checked now, the data's checksum as it is read.
   * @throws SnapshotCorruptionError when the header is damaged or the size does not match it.
   */
  async open(): Promise<StoredSnapshot | undefined> {
    if (!(await this.fileSystem.exists(this.path))) return undefined;
    return this.openAt(this.path);
  }

  /**
   * Replaces the saved snapshot with `snapshot`, whose data may be one buffer or chunks that are
   * written as they are produced; resolves with its metadata once durable.
   * @throws RangeError when the data exceeds the format's 4 GiB limit.
   */
  async save(snapshot: {
    readonly index: number;
    readonly generation: number;
    readonly data: SnapshotData;
  }): Promise<SnapshotMetadata> {
    const temporary = `${this.path}.tmp`;
    await this.fileSystem.mkdir(this.directory);
    const handle = await this.fileSystem.open(temporary, 'create');
    let dataBytes = 0;
    try {
      await handle.truncate(0);
      let checksum = 0;
      const chunks = snapshot.data instanceof Uint8Array ? [snapshot.data] : snapshot.data;
      for (const chunk of chunks) {
        if (dataBytes + chunk.length > MAX_DATA_BYTES) {
          throw new RangeError(`snapshot larger than ${MAX_DATA_BYTES} bytes`);
        }
        await handle.write(chunk, 0, chunk.length, HEADER_BYTES + dataBytes);
        checksum = crc32c(chunk, 0, chunk.length, checksum);
        dataBytes += chunk.length;
      }
      // The header goes last: only now are the length and the checksum known.
      const header = encodeHeader({ ...snapshot, dataBytes, checksum });
      const view = new DataView(header.buffer);
      view.setUint32(24, crc32c(header, CHECKED_HEADER_START, CHECKED_HEADER_END, checksum));
      await handle.write(header, 0, header.length, 0);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await this.fileSystem.rename(temporary, this.path);
    await this.fileSystem.syncDirectory(this.directory);
    return {
      index: snapshot.index,
      generation: snapshot.generation,
      sizeBytes: HEADER_BYTES + dataBytes,
    };
  }

  /** Reads `length` bytes of the saved snapshot file at `offset` (fewer at its end). */
  async readRange(offset: number, length: number): Promise<Uint8Array> {
    const handle = await this.fileSystem.open(this.path, 'read');
    try {
      return await readFully(handle, offset, length);
    } finally {
      await handle.close();
    }
  }

  /** Writes a received chunk at `offset` of the incoming snapshot; offset 0 starts it afresh. */
  async writeIncoming(offset: number, data: Uint8Array): Promise<void> {
    const handle = await this.fileSystem.open(this.incomingPath, 'create');
    try {
      if (offset === 0) await handle.truncate(0);
      await handle.write(data, 0, data.length, offset);
    } finally {
      await handle.close();
    }
  }

  /**
   * Makes the complete incoming snapshot the saved one: fdatasync, verify it is `expected`
   * (checksum, index, generation, size) reading it in chunks, rename it over the snapshot, fsync
   * the directory. Resolves with the installed snapshot opened for reading (for the state machine
   * to restore; close it after).
   * @throws SnapshotCorruptionError when the received bytes are not the expected snapshot.
   */
  async installIncoming(expected: SnapshotMetadata): Promise<StoredSnapshot> {
    const handle = await this.fileSystem.open(this.incomingPath, 'readwrite');
    try {
      await handle.datasync();
    } finally {
      await handle.close();
    }
    const verifying = await this.openAt(this.incomingPath);
    try {
      const metadata = verifying.metadata;
      if (
        metadata.index !== expected.index ||
        metadata.generation !== expected.generation ||
        metadata.sizeBytes !== expected.sizeBytes
      ) {
        throw new SnapshotCorruptionError(
          `${this.incomingPath}: holds the snapshot through ${metadata.index}, not ${expected.index}`,
        );
      }
      await verifying.verify();
    } finally {
      await verifying.close();
    }
    // Opened before the rename: it keeps reading this snapshot whatever replaces the file later.
    const installed = await this.openAt(this.incomingPath);
    try {
      await this.fileSystem.rename(this.incomingPath, this.path);
      await this.fileSystem.syncDirectory(this.directory);
    } catch (error) {
      await installed.close();
      throw error;
    }
    return installed;
  }

  /** Deletes an incoming snapshot left by a crash during a transfer. */
  async discardIncoming(): Promise<void> {
    if (await this.fileSystem.exists(this.incomingPath)) {
      await this.fileSystem.unlink(this.incomingPath);
    }
  }

  private async openAt(path: string): Promise<StoredSnapshot> {
    const handle = await this.fileSystem.open(path, 'read');
    try {
      const header = decodeHeader(await readFully(handle, 0, HEADER_BYTES), path);
      const size = await handle.size();
      if (size !== HEADER_BYTES + header.dataBytes) {
        throw new SnapshotCorruptionError(
          `${path}: expected ${header.dataBytes} data bytes, the file holds ${size - HEADER_BYTES}`,
        );
      }
      return new StoredSnapshot(handle, path, header);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }
}

/**
 * A snapshot in the snapshot file's format (header and data), as bytes: what a leader with
 * in-memory storage sends to followers, whatever storage they use.
 * @throws RangeError when the data exceeds the format's 4 GiB limit.
 */
export function encodeSnapshotBytes(snapshot: {
  readonly index: number;
  readonly generation: number;
  readonly data: SnapshotData;
}): Uint8Array {
  const chunks = snapshot.data instanceof Uint8Array ? [snapshot.data] : [...snapshot.data];
  let dataBytes = 0;
  let checksum = 0;
  for (const chunk of chunks) {
    dataBytes += chunk.length;
    if (dataBytes > MAX_DATA_BYTES)
      throw new RangeError(`snapshot larger than ${MAX_DATA_BYTES} bytes`);
    checksum = crc32c(chunk, 0, chunk.length, checksum);
  }
  const bytes = new Uint8Array(HEADER_BYTES + dataBytes);
  const header = encodeHeader({ ...snapshot, dataBytes, checksum });
  new DataView(header.buffer).setUint32(
    24,
    crc32c(header, CHECKED_HEADER_START, CHECKED_HEADER_END, checksum),
  );
  bytes.set(header, 0);
  let offset = HEADER_BYTES;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return bytes;
}

/**
 * Opens snapshot bytes in the snapshot file's format for reading, as {@link SnapshotFile.open}
 * opens the file; `name` stands for the file in errors.
 * @throws SnapshotCorruptionError when the header is damaged or the size does not match it.
 */
export function openSnapshotBytes(bytes: Uint8Array, name: string): StoredSnapshot {
  const header = decodeHeader(bytes.subarray(0, HEADER_BYTES), name);
  if (bytes.length !== HEADER_BYTES + header.dataBytes) {
    throw new SnapshotCorruptionError(
      `${name}: expected ${header.dataBytes} data bytes, it holds ${bytes.length - HEADER_BYTES}`,
    );
  }
  const handle = {
    read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<number> {
      const available = bytes.subarray(position, Math.min(bytes.length, position + length));
      buffer.set(available, offset);
      return Promise.resolve(available.length);
    },
    close: () => Promise.resolve(),
  };
  return new StoredSnapshot(handle, name, header);
}

async function readFully(
  handle: {
    read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  },
  position: number,
  length: number,
): Promise<Uint8Array> {
  const bytes = new Uint8Array(length);
  let read = 0;
  while (read < length) {
    const count = await handle.read(bytes, read, length - read, position + read);
    if (count === 0) break;
    read += count;
  }
  return read === length ? bytes : bytes.subarray(0, read);
}

function encodeHeader(header: Omit<Header, 'checkedHeader'>): Uint8Array {
  const bytes = new Uint8Array(HEADER_BYTES);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, MAGIC);
  view.setUint32(4, Math.floor(header.index / TWO_TO_32));
  view.setUint32(8, header.index >>> 0);
  view.setUint32(12, Math.floor(header.generation / TWO_TO_32));
  view.setUint32(16, header.generation >>> 0);
  view.setUint32(20, header.dataBytes);
  view.setUint32(24, header.checksum);
  return bytes;
}

function decodeHeader(bytes: Uint8Array, path: string): Header {
  if (bytes.length < HEADER_BYTES) throw new SnapshotCorruptionError(`${path}: truncated header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0);
  if (magic !== MAGIC && magic !== MAGIC_DATA_CHECKSUM_ONLY) {
    throw new SnapshotCorruptionError(`${path}: bad magic`);
  }
  const index = view.getUint32(4) * TWO_TO_32 + view.getUint32(8);
  const generation = view.getUint32(12) * TWO_TO_32 + view.getUint32(16);
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(generation)) {
    throw new SnapshotCorruptionError(`${path}: index or generation beyond 2^53 in the header`);
  }
  return {
    index,
    generation,
    dataBytes: view.getUint32(20),
    checksum: view.getUint32(24),
    checkedHeader:
      magic === MAGIC ? bytes.slice(CHECKED_HEADER_START, CHECKED_HEADER_END) : new Uint8Array(0),
  };
}
