import type { FileHandle } from './file-system.js';
import { segmentFileName } from './segment-name.js';

/**
 * One segment file and its in-memory offset index: the byte offset of every record, so any entry
 * can be read with one positioned read and no payload is held in memory.
 */
export class Segment {
  readonly fileName: string;
  readonly path: string;
  /** Byte offset of each record, by `index - firstIndex`. */
  private offsets = new Uint32Array(256);
  /** Number of entries. */
  count = 0;
  /** Logical end in bytes: everything appended, written yet or not. */
  endOffset = 0;
  /** Open once the file exists on disk; a rolled segment gets it when its first batch is written. */
  handle: FileHandle | undefined;
  private readers = 0;
  private retired = false;

  constructor(
    directory: string,
    readonly firstIndex: number,
    /** Wall-clock ms when the segment was started (from its header). */
    public startedAtWallMs: number,
  ) {
    this.fileName = segmentFileName(firstIndex);
    this.path = `${directory}/${this.fileName}`;
  }

  /** Index of the last entry, `firstIndex - 1` when empty. */
  get lastIndex(): number {
    return this.firstIndex + this.count - 1;
  }

  /** Records that the next entry starts at byte `offset`. */
  push(offset: number): void {
    if (this.count === this.offsets.length) {
      const grown = new Uint32Array(this.offsets.length * 2);
      grown.set(this.offsets);
      this.offsets = grown;
    }
    this.offsets[this.count++] = offset;
  }

  /** Byte offset where the record of `index` starts. */
  startOf(index: number): number {
    return this.offsets[index - this.firstIndex]!;
  }

  /** Byte offset just past the record of `index`. */
  endOf(index: number): number {
    const next = index - this.firstIndex + 1;
    return next < this.count ? this.offsets[next]! : this.endOffset;
  }

  /** Forgets entries from `index` on; returns the byte offset where they started. */
  truncateFrom(index: number): number {
    const offset = index <= this.lastIndex ? this.startOf(index) : this.endOffset;
    this.count = Math.max(0, index - this.firstIndex);
    this.endOffset = offset;
    return offset;
  }

  /** Marks a read in progress so the handle outlives a concurrent delete. */
  beginRead(): FileHandle | undefined {
    this.readers++;
    return this.handle;
  }

  /** Ends a read started with `beginRead`. */
  async endRead(): Promise<void> {
    this.readers--;
    if (this.retired && this.readers === 0) await this.closeHandle();
  }

  /** The segment is deleted: close its handle now, or when the last read ends. */
  async retire(): Promise<void> {
    this.retired = true;
    if (this.readers === 0) await this.closeHandle();
  }

  private async closeHandle(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close();
  }
}
