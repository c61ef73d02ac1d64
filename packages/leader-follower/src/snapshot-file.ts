import { crc32c } from '@x/wal';
import type { FileSystem } from '@x/wal';
import type { Snapshot, SnapshotMetadata } from './log-entry.js';

const MAGIC = 0x4c465331; // "LFS1"
const HEADER_BYTES = 4 + 8 + 8 + 4 + 4; // magic, index, generation, length, crc of data
const TWO_TO_32 = 4294967296;

/** Thrown when the snapshot file exists but is damaged: the node must not start from it. */
export class SnapshotCorruptionError extends Error {
  override readonly name = 'SnapshotCorruptionError';
}

/**
 * The latest snapshot in one checksummed file, replaced atomically: write a temporary file,
 * fdatasync, rename over the real one, fsync the directory. After a crash the file holds the
 * previous snapshot or the new one, never a mix.
 *
 * A leader sends the file's bytes (header included) to lagging followers in ranges read on
 * demand ({@link readRange}); a follower writes them to `<name>.incoming` as they arrive
 * ({@link writeIncoming}) and, once complete, verifies and renames it over the snapshot
 * ({@link installIncoming}). No whole snapshot is kept in memory between those steps.
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
   * The saved snapshot, or undefined when none was ever saved.
   * @throws SnapshotCorruptionError when the file fails its checksum.
   */
  async load(): Promise<Snapshot | undefined> {
    if (!(await this.fileSystem.exists(this.path))) return undefined;
    return this.loadFrom(this.path);
  }

  /** Replaces the saved snapshot; resolves with its metadata once durable. */
  async save(snapshot: Snapshot): Promise<SnapshotMetadata> {
    const header = encodeHeader(snapshot);
    const temporary = `${this.path}.tmp`;
    await this.fileSystem.mkdir(this.directory);
    const handle = await this.fileSystem.open(temporary, 'create');
    try {
      await handle.truncate(0);
      // Two writes rather than one concatenated copy of a possibly large snapshot.
      await handle.write(header, 0, header.length, 0);
      await handle.write(snapshot.data, 0, snapshot.data.length, HEADER_BYTES);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await this.fileSystem.rename(temporary, this.path);
    await this.fileSystem.syncDirectory(this.directory);
    return SnapshotFile.metadataOf(snapshot);
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
   * (checksum, index, generation, size), rename it over the snapshot, fsync the directory.
   * Resolves with the snapshot (for the state machine to restore).
   * @throws SnapshotCorruptionError when the received bytes are not the expected snapshot.
   */
  async installIncoming(expected: SnapshotMetadata): Promise<Snapshot> {
    const handle = await this.fileSystem.open(this.incomingPath, 'readwrite');
    try {
      await handle.datasync();
    } finally {
      await handle.close();
    }
    const snapshot = await this.loadFrom(this.incomingPath);
    const metadata = SnapshotFile.metadataOf(snapshot);
    if (
      metadata.index !== expected.index ||
      metadata.generation !== expected.generation ||
      metadata.sizeBytes !== expected.sizeBytes
    ) {
      throw new SnapshotCorruptionError(
        `${this.incomingPath}: holds the snapshot through ${metadata.index}, not ${expected.index}`,
      );
    }
    await this.fileSystem.rename(this.incomingPath, this.path);
    await this.fileSystem.syncDirectory(this.directory);
    return snapshot;
  }

  /** Deletes an incoming snapshot left by a crash during a transfer. */
  async discardIncoming(): Promise<void> {
    if (await this.fileSystem.exists(this.incomingPath)) {
      await this.fileSystem.unlink(this.incomingPath);
    }
  }

  private async loadFrom(path: string): Promise<Snapshot> {
    const handle = await this.fileSystem.open(path, 'read');
    try {
      const size = await handle.size();
      return decodeSnapshot(await readFully(handle, 0, size), path);
    } finally {
      await handle.close();
    }
  }
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

function encodeHeader(snapshot: Snapshot): Uint8Array {
  const bytes = new Uint8Array(HEADER_BYTES);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, MAGIC);
  view.setUint32(4, Math.floor(snapshot.index / TWO_TO_32));
  view.setUint32(8, snapshot.index >>> 0);
  view.setUint32(12, Math.floor(snapshot.generation / TWO_TO_32));
  view.setUint32(16, snapshot.generation >>> 0);
  view.setUint32(20, snapshot.data.length);
  view.setUint32(24, crc32c(snapshot.data));
  return bytes;
}

function decodeSnapshot(bytes: Uint8Array, path: string): Snapshot {
  if (bytes.length < HEADER_BYTES) throw new SnapshotCorruptionError(`${path}: truncated header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0) !== MAGIC) throw new SnapshotCorruptionError(`${path}: bad magic`);
  const index = view.getUint32(4) * TWO_TO_32 + view.getUint32(8);
  const generation = view.getUint32(12) * TWO_TO_32 + view.getUint32(16);
  const length = view.getUint32(20);
  if (bytes.length !== HEADER_BYTES + length) {
    throw new SnapshotCorruptionError(`${path}: expected ${length} data bytes`);
  }
  // A view, not a copy: the snapshot may be large.
  const data = bytes.subarray(HEADER_BYTES);
  if (crc32c(data) !== view.getUint32(24)) {
    throw new SnapshotCorruptionError(`${path}: checksum mismatch`);
  }
  return { index, generation, data };
}
