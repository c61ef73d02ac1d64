import { crc32c } from '@x/wal';
import type { FileHandle, FileSystem } from '@x/wal';
import type { Snapshot, SnapshotData, SnapshotMetadata } from './log-entry.js';
import {
  ConfigurationError,
  decodeConfiguration,
  encodeConfiguration,
} from './cluster-configuration.js';
import type { ClusterConfiguration } from './cluster-configuration.js';

// Format 3 ("LFS3", written when the snapshot records a cluster configuration): format 2's header,
// then the configuration's length (4 bytes) and bytes, then the data; the checksum also covers
// the length and the configuration. Format 2 ("LFS2", written without one, still read): the
// checksum covers the data and then header bytes 4..24 (index, generation, length), so a damaged
// header is refused like damaged data; it loads with no configuration (the node's initial members
// are then the configuration). Format 1 ("LFS1", still read) covered the data only: a flipped bit
// in its index or generation went unnoticed.
const MAGIC_WITH_CONFIGURATION = 0x4c465333; // "LFS3"
const MAGIC = 0x4c465332; // "LFS2"
const MAGIC_DATA_CHECKSUM_ONLY = 0x4c465331; // "LFS1"
const HEADER_BYTES = 4 + 8 + 8 + 4 + 4; // magic, index, generation, length, checksum
/** Format 3: the configuration's length follows the header. */
const CONFIGURATION_LENGTH_BYTES = 4;
/** Longest encoded configuration a snapshot holds (64 members of 255 bytes). */
const MAX_CONFIGURATION_BYTES = 3 + 64 * 256;
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
  /** Bytes before the data: the header, and in format 3 the configuration. */
  readonly prefixBytes: number;
  /** The configuration a format-3 snapshot records. */
  readonly configuration?: ClusterConfiguration;
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

  /** Index, generation, size of the whole file (as sent to followers) and configuration. */
  get metadata(): SnapshotMetadata {
    const { configuration } = this.header;
    return {
      index: this.header.index,
      generation: this.header.generation,
      sizeBytes: this.header.prefixBytes + this.header.dataBytes,
      ...(configuration === undefined ? {} : { configuration }),
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
      const position = this.header.prefixBytes + offset;
      const chunk = await readFully(this.handle, position, length);
      if (chunk.length !== length) {
        throw new SnapshotCorruptionError(`${this.path}: ended at ${position}`);
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
  static metadataOf(
    snapshot: Snapshot & { readonly configuration?: ClusterConfiguration },
  ): SnapshotMetadata {
    const { configuration } = snapshot;
    return {
      index: snapshot.index,
      generation: snapshot.generation,
      sizeBytes: prefixBytesOf(configuration) + snapshot.data.length,
      ...(configuration === undefined ? {} : { configuration }),
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
    readonly configuration?: ClusterConfiguration;
  }): Promise<SnapshotMetadata> {
    const prefixBytes = prefixBytesOf(snapshot.configuration);
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
        await handle.write(chunk, 0, chunk.length, prefixBytes + dataBytes);
        checksum = crc32c(chunk, 0, chunk.length, checksum);
        dataBytes += chunk.length;
      }
      // The header goes last: only now are the length and the checksum known.
      const header = encodePrefix({ ...snapshot, dataBytes, checksum });
      await handle.write(header, 0, header.length, 0);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await this.fileSystem.rename(temporary, this.path);
    await this.fileSystem.syncDirectory(this.directory);
    const { configuration } = snapshot;
    return {
      index: snapshot.index,
      generation: snapshot.generation,
      sizeBytes: prefixBytes + dataBytes,
      ...(configuration === undefined ? {} : { configuration }),
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
      const start = await readFully(handle, 0, HEADER_BYTES + CONFIGURATION_LENGTH_BYTES);
      const prefix = await readFully(handle, 0, prefixLengthOf(start, path));
      const header = decodeHeader(prefix, path);
      const size = await handle.size();
      if (size !== header.prefixBytes + header.dataBytes) {
        throw new SnapshotCorruptionError(
          `${path}: expected ${header.dataBytes} data bytes, the file holds ${size - header.prefixBytes}`,
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
  readonly configuration?: ClusterConfiguration;
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
  const header = encodePrefix({ ...snapshot, dataBytes, checksum });
  const bytes = new Uint8Array(header.length + dataBytes);
  bytes.set(header, 0);
  let offset = header.length;
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
  const header = decodeHeader(bytes.subarray(0, prefixLengthOf(bytes, name)), name);
  if (bytes.length !== header.prefixBytes + header.dataBytes) {
    throw new SnapshotCorruptionError(
      `${name}: expected ${header.dataBytes} data bytes, it holds ${bytes.length - header.prefixBytes}`,
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

/** Bytes before the data in the format a snapshot with (or without) `configuration` is written. */
function prefixBytesOf(configuration: ClusterConfiguration | undefined): number {
  return configuration === undefined
    ? HEADER_BYTES
    : HEADER_BYTES + CONFIGURATION_LENGTH_BYTES + encodeConfiguration(configuration).length;
}

/**
 * How many bytes precede the data, from the first bytes of a snapshot (at least the header and,
 * in format 3, the configuration's length).
 * @throws SnapshotCorruptionError when they are too short or the length is beyond the bound.
 */
function prefixLengthOf(start: Uint8Array, path: string): number {
  if (start.length < HEADER_BYTES) throw new SnapshotCorruptionError(`${path}: truncated header`);
  const view = new DataView(start.buffer, start.byteOffset, start.byteLength);
  if (view.getUint32(0) !== MAGIC_WITH_CONFIGURATION) return HEADER_BYTES;
  if (start.length < HEADER_BYTES + CONFIGURATION_LENGTH_BYTES) {
    throw new SnapshotCorruptionError(`${path}: truncated header`);
  }
  const configurationBytes = view.getUint32(HEADER_BYTES);
  if (configurationBytes > MAX_CONFIGURATION_BYTES) {
    throw new SnapshotCorruptionError(`${path}: configuration of ${configurationBytes} bytes`);
  }
  return HEADER_BYTES + CONFIGURATION_LENGTH_BYTES + configurationBytes;
}

/**
 * The header (with its checksum over the data and the checked header bytes), and in format 3 the
 * configuration after it.
 */
function encodePrefix(
  header: Omit<Header, 'checkedHeader' | 'prefixBytes'> & {
    readonly configuration?: ClusterConfiguration;
  },
): Uint8Array {
  const configuration =
    header.configuration === undefined ? undefined : encodeConfiguration(header.configuration);
  const fixed = encodeHeader(
    header,
    configuration === undefined ? MAGIC : MAGIC_WITH_CONFIGURATION,
  );
  const bytes = new Uint8Array(
    configuration === undefined
      ? HEADER_BYTES
      : HEADER_BYTES + CONFIGURATION_LENGTH_BYTES + configuration.length,
  );
  bytes.set(fixed, 0);
  if (configuration !== undefined) {
    new DataView(bytes.buffer).setUint32(HEADER_BYTES, configuration.length);
    bytes.set(configuration, HEADER_BYTES + CONFIGURATION_LENGTH_BYTES);
  }
  const checked = checkedHeaderOf(bytes, configuration !== undefined);
  new DataView(bytes.buffer).setUint32(24, crc32c(checked, 0, checked.length, header.checksum));
  return bytes;
}

/** The prefix bytes the checksum covers after the data: index, generation, length (and in format 3 the configuration's length and bytes). */
function checkedHeaderOf(prefix: Uint8Array, withConfiguration: boolean): Uint8Array {
  const fixed = prefix.subarray(CHECKED_HEADER_START, CHECKED_HEADER_END);
  if (!withConfiguration) return fixed.slice();
  const rest = prefix.subarray(HEADER_BYTES);
  const checked = new Uint8Array(fixed.length + rest.length);
  checked.set(fixed, 0);
  checked.set(rest, fixed.length);
  return checked;
}

function encodeHeader(
  header: Omit<Header, 'checkedHeader' | 'prefixBytes' | 'configuration'>,
  magic: number,
): Uint8Array {
  const bytes = new Uint8Array(HEADER_BYTES);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, magic);
  view.setUint32(4, Math.floor(header.index / TWO_TO_32));
  view.setUint32(8, header.index >>> 0);
  view.setUint32(12, Math.floor(header.generation / TWO_TO_32));
  view.setUint32(16, header.generation >>> 0);
  view.setUint32(20, header.dataBytes);
  view.setUint32(24, header.checksum);
  return bytes;
}

/**
 * Decodes a snapshot's prefix (the header, and in format 3 the configuration: `bytes` must hold
 * the whole prefix, see {@link prefixLengthOf}).
 * @throws SnapshotCorruptionError when it is damaged.
 */
function decodeHeader(bytes: Uint8Array, path: string): Header {
  if (bytes.length < HEADER_BYTES) throw new SnapshotCorruptionError(`${path}: truncated header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0);
  if (magic !== MAGIC && magic !== MAGIC_DATA_CHECKSUM_ONLY && magic !== MAGIC_WITH_CONFIGURATION) {
    throw new SnapshotCorruptionError(`${path}: bad magic`);
  }
  let configuration: ClusterConfiguration | undefined;
  if (magic === MAGIC_WITH_CONFIGURATION) {
    if (bytes.length !== prefixLengthOf(bytes, path)) {
      throw new SnapshotCorruptionError(`${path}: truncated configuration`);
    }
    try {
      configuration = decodeConfiguration(
        bytes.subarray(HEADER_BYTES + CONFIGURATION_LENGTH_BYTES),
      );
    } catch (error) {
      if (!(error instanceof ConfigurationError)) throw error;
      throw new SnapshotCorruptionError(`${path}: ${error.message}`);
    }
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
      magic === MAGIC_DATA_CHECKSUM_ONLY
        ? new Uint8Array(0)
        : checkedHeaderOf(bytes, magic === MAGIC_WITH_CONFIGURATION),
    prefixBytes:
      bytes.length >= HEADER_BYTES && magic === MAGIC_WITH_CONFIGURATION
        ? bytes.length
        : HEADER_BYTES,
    ...(configuration === undefined ? {} : { configuration }),
  };
}
