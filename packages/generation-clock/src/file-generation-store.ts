import { CorruptGenerationFileError } from './errors.js';
import type { FileHandle, FileSystem } from './file-system.js';
import {
  decodeGenerationState,
  encodeGenerationState,
  maxRecordBytes,
} from './generation-file-format.js';
import type { GenerationState } from './generation-state.js';
import { requireGeneration } from './generation-state.js';
import type { GenerationStore } from './generation-store.js';

/** Options for {@link FileGenerationStore}. */
export interface FileGenerationStoreOptions {
  /** The file system (a Node one in production, a fault-injecting one in tests). */
  readonly fileSystem: FileSystem;
  /** The directory holding the file; created if missing. Paths are joined with `/`. */
  readonly directory: string;
  /** The file's name. Default `generation`; the temporary file is this name plus `.tmp`. */
  readonly fileName?: string;
}

/**
 * A {@link GenerationStore} in one small checksummed file, replaced atomically on every save:
 * write a temporary file, fdatasync it, rename it over the real one, fsync the directory.
 *
 * Recovery rules, applied by {@link FileGenerationStore.load}:
 * - The real file is the only truth. A rename is atomic, so after a crash it holds either the
 *   previous state or the new one, and it only ever receives a temporary file that was already
 *   durable, so it is never torn.
 * - A leftover temporary file belongs to a save that never completed, so nobody was told its
 *   state was durable: it is deleted, never promoted, whether it is complete or torn.
 * - A real file that fails its checksum (or is otherwise invalid) is corruption, not a torn write:
 *   loading throws {@link CorruptGenerationFileError} naming it and touches nothing. Starting over
 *   at generation 0 would let the past be accepted again.
 * - No real file: nothing was ever saved.
 *
 * One process at a time: keep the file in a directory the process has locked (for example its
 * write-ahead log's). Not safe for concurrent saves; {@link GenerationClock} serializes them.
 */
export class FileGenerationStore implements GenerationStore {
  readonly #fileSystem: FileSystem;
  readonly #directory: string;
  readonly #path: string;
  readonly #temporaryPath: string;
  #directoryExists = false;

  /** @throws RangeError if `fileName` is empty or contains a `/` */
  constructor(options: FileGenerationStoreOptions) {
    const fileName = options.fileName ?? 'generation';
    if (fileName === '' || fileName.includes('/')) {
      throw new RangeError(`fileName must be a plain file name, got '${fileName}'`);
    }
    this.#fileSystem = options.fileSystem;
    this.#directory = options.directory;
    this.#path = joinPath(options.directory, fileName);
    this.#temporaryPath = `${this.#path}.tmp`;
  }

  /** The path of the file that holds the state. */
  get path(): string {
    return this.#path;
  }

  /**
   * Creates the directory if needed, deletes a leftover temporary file, and reads the state.
   *
   * @returns the saved state, or `undefined` if there is no file yet
   * @throws CorruptGenerationFileError if the file is not a valid record
   * @throws the file system's error on an I/O failure
   */
  async load(): Promise<GenerationState | undefined> {
    const fileSystem = this.#fileSystem;
    await this.#ensureDirectory();
    const exists = await fileSystem.exists(this.#path);
    const bytes = exists ? await this.#readWhole(this.#path) : undefined;
    const state = bytes === undefined ? undefined : decodeGenerationState(bytes);
    if (typeof state === 'string') throw new CorruptGenerationFileError(this.#path, state);
    if (await fileSystem.exists(this.#temporaryPath)) {
      await fileSystem.unlink(this.#temporaryPath);
      await fileSystem.syncDirectory(this.#directory);
    }
    return state;
  }

  /**
   * Replaces the state durably and atomically; resolves once it would survive power loss.
   * Creates the directory on first use.
   *
   * @throws RangeError for an invalid generation or a vote longer than 65535 UTF-8 bytes
   * @throws the file system's error on an I/O failure (the file then holds the old or new state)
   */
  async save(state: GenerationState): Promise<void> {
    requireGeneration(state.generation);
    const record = encodeGenerationState(state);
    const fileSystem = this.#fileSystem;
    await this.#ensureDirectory();
    const handle = await fileSystem.open(this.#temporaryPath, 'create');
    try {
      // A leftover from an interrupted save may be longer than this record.
      await handle.truncate(0);
      await handle.write(record, 0, record.length, 0);
      await handle.datasync();
    } finally {
      await closeQuietly(handle);
    }
    await fileSystem.rename(this.#temporaryPath, this.#path);
    await fileSystem.syncDirectory(this.#directory);
  }

  async #ensureDirectory(): Promise<void> {
    if (this.#directoryExists) return;
    await this.#fileSystem.mkdir(this.#directory);
    this.#directoryExists = true;
  }

  async #readWhole(path: string): Promise<Uint8Array> {
    const handle = await this.#fileSystem.open(path, 'read');
    try {
      const size = await handle.size();
      // Bounded before allocating: a damaged or foreign file may claim any size.
      if (size > maxRecordBytes) {
        throw new CorruptGenerationFileError(
          path,
          `${size} bytes is longer than any record (${maxRecordBytes})`,
        );
      }
      const bytes = new Uint8Array(size);
      let filled = 0;
      while (filled < size) {
        const count = await handle.read(bytes, filled, size - filled, filled);
        if (count === 0) break;
        filled += count;
      }
      return bytes.subarray(0, filled);
    } finally {
      await closeQuietly(handle);
    }
  }
}

/** `directory/name`, without doubling a trailing slash. */
function joinPath(directory: string, name: string): string {
  if (directory === '' || directory.endsWith('/')) return `${directory}${name}`;
  return `${directory}/${name}`;
}

/** Closes without masking the error that got us here; a close error alone is not a data loss. */
async function closeQuietly(handle: FileHandle): Promise<void> {
  try {
    await handle.close();
  } catch {
    // The data was already synced (or the operation already failed with a better error).
  }
}
