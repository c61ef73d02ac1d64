import { crc32c } from '@x/wal';
import type { FileSystem } from '@x/wal';
import type { Snapshot } from './log-entry.js';

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
 */
export class SnapshotFile {
  private readonly path: string;

  constructor(
    private readonly fileSystem: FileSystem,
    private readonly directory: string,
    name = 'snapshot',
  ) {
    this.path = `${directory}/${name}`;
  }

  /**
   * The saved snapshot, or undefined when none was ever saved.
   * @throws SnapshotCorruptionError when the file fails its checksum.
   */
  async load(): Promise<Snapshot | undefined> {
    if (!(await this.fileSystem.exists(this.path))) return undefined;
    const handle = await this.fileSystem.open(this.path, 'read');
    try {
      const size = await handle.size();
      const bytes = new Uint8Array(size);
      let read = 0;
      while (read < size) {
        const count = await handle.read(bytes, read, size - read, read);
        if (count === 0) break;
        read += count;
      }
      return decodeSnapshot(bytes.subarray(0, read), this.path);
    } finally {
      await handle.close();
    }
  }

  /** Replaces the saved snapshot; resolves once durable. */
  async save(snapshot: Snapshot): Promise<void> {
    const bytes = encodeSnapshot(snapshot);
    const temporary = `${this.path}.tmp`;
    await this.fileSystem.mkdir(this.directory);
    const handle = await this.fileSystem.open(temporary, 'create');
    try {
      await handle.truncate(0);
      await handle.write(bytes, 0, bytes.length, 0);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await this.fileSystem.rename(temporary, this.path);
    await this.fileSystem.syncDirectory(this.directory);
  }
}

function encodeSnapshot(snapshot: Snapshot): Uint8Array {
  const bytes = new Uint8Array(HEADER_BYTES + snapshot.data.length);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, MAGIC);
  view.setUint32(4, Math.floor(snapshot.index / TWO_TO_32));
  view.setUint32(8, snapshot.index >>> 0);
  view.setUint32(12, Math.floor(snapshot.generation / TWO_TO_32));
  view.setUint32(16, snapshot.generation >>> 0);
  view.setUint32(20, snapshot.data.length);
  view.setUint32(24, crc32c(snapshot.data));
  bytes.set(snapshot.data, HEADER_BYTES);
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
  const data = bytes.slice(HEADER_BYTES);
  if (crc32c(data) !== view.getUint32(24)) {
    throw new SnapshotCorruptionError(`${path}: checksum mismatch`);
  }
  return { index, generation, data };
}
