/**
 * Durable snapshots of the state machine: one file per snapshot in `<data-dir>/snap`, named by
 * index, with a checksummed header. Written to a temporary file, fdatasynced, renamed, and the
 * directory fsynced; older snapshots are then deleted.
 */

import { mkdir, open, readFile, readdir, rename, unlink } from 'node:fs/promises';
import { crc32c } from '@x/wal';

/** A snapshot as stored. */
export interface StoredSnapshot {
  index: number;
  generation: number;
  data: Uint8Array;
}

/** A snapshot file that fails its checks (corruption: never silently skipped). */
export class SnapshotCorruptionError extends Error {
  /** @param message names the file and what failed. */
  constructor(message: string) {
    super(message);
    this.name = 'SnapshotCorruptionError';
  }
}

const MAGIC = 0x4b56534e; // "KVSN"
const HEADER_BYTES = 4 + 8 + 8 + 8 + 4;
const SUFFIX = '.snap';

function fileName(index: number): string {
  return `${String(index).padStart(20, '0')}${SUFFIX}`;
}

async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Reads and writes the snapshots of one data directory. */
export class SnapshotFiles {
  readonly #directory: string;

  /** @param directory where snapshot files live (created on first save). */
  constructor(directory: string) {
    this.#directory = directory;
  }

  /** Saves a snapshot durably, then deletes older ones. */
  async save(snapshot: StoredSnapshot): Promise<void> {
    await mkdir(this.#directory, { recursive: true });
    const header = Buffer.alloc(HEADER_BYTES);
    header.writeUInt32BE(MAGIC, 0);
    header.writeBigUInt64BE(BigInt(snapshot.index), 4);
    header.writeBigUInt64BE(BigInt(snapshot.generation), 12);
    header.writeBigUInt64BE(BigInt(snapshot.data.byteLength), 20);
    header.writeUInt32BE(crc32c(snapshot.data), 28);
    const path = `${this.#directory}/${fileName(snapshot.index)}`;
    const temporary = `${path}.tmp`;
    const handle = await open(temporary, 'w');
    try {
      await handle.writev([header, snapshot.data]);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
    await syncDirectory(this.#directory);
    for (const name of await this.#names()) {
      if (name !== fileName(snapshot.index)) await unlink(`${this.#directory}/${name}`);
    }
    await syncDirectory(this.#directory);
  }

  /**
   * The newest snapshot, or `undefined` if there is none.
   *
   * @throws SnapshotCorruptionError naming the file when it fails its checks.
   */
  async loadLatest(): Promise<StoredSnapshot | undefined> {
    const names = await this.#names();
    const latest = names.at(-1);
    if (latest === undefined) return undefined;
    const path = `${this.#directory}/${latest}`;
    const bytes = await readFile(path);
    if (bytes.length < HEADER_BYTES || bytes.readUInt32BE(0) !== MAGIC) {
      throw new SnapshotCorruptionError(`${path}: not a snapshot file`);
    }
    const length = Number(bytes.readBigUInt64BE(20));
    const data = bytes.subarray(HEADER_BYTES);
    if (data.length !== length || crc32c(data) !== bytes.readUInt32BE(28)) {
      throw new SnapshotCorruptionError(`${path}: checksum or length mismatch`);
    }
    return {
      index: Number(bytes.readBigUInt64BE(4)),
      generation: Number(bytes.readBigUInt64BE(12)),
      data,
    };
  }

  async #names(): Promise<string[]> {
    try {
      const names = await readdir(this.#directory);
      for (const name of names.filter((candidate) => candidate.endsWith('.tmp'))) {
        await unlink(`${this.#directory}/${name}`);
      }
      return names.filter((name) => name.endsWith(SUFFIX)).sort();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  }
}
