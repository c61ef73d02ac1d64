import type { LogEntry } from './log-entry.js';

/**
 * The in-memory view of one server's log: every entry above the compaction point. The core reads
 * it top to bottom as the algorithm; the driver mirrors every change into the write-ahead log.
 *
 * Entries below `compactedIndex` are gone (covered by a snapshot); the generation of the entry AT
 * `compactedIndex` is remembered so that a match check against it still works.
 */
export class ReplicatedLog {
  private entries: LogEntry[] = [];
  private compactedIndexValue: number;
  private compactedGenerationValue: number;

  constructor(compactedIndex: number, compactedGeneration: number, entries: readonly LogEntry[]) {
    this.compactedIndexValue = compactedIndex;
    this.compactedGenerationValue = compactedGeneration;
    let expected = compactedIndex + 1;
    for (const entry of entries) {
      if (entry.index < expected) continue;
      if (entry.index !== expected) {
        throw new Error(`log gap: expected index ${expected}, got ${entry.index}`);
      }
      this.entries.push(entry);
      expected++;
    }
  }

  /** Index of the last entry dropped by compaction (0 when nothing was compacted). */
  get compactedIndex(): number {
    return this.compactedIndexValue;
  }

  /** Index of the first entry still held. */
  get firstIndex(): number {
    return this.compactedIndexValue + 1;
  }

  /** Index of the last entry (the compacted index when the log is empty). */
  get lastIndex(): number {
    return this.compactedIndexValue + this.entries.length;
  }

  /** Generation of the last entry. */
  get lastGeneration(): number {
    const last = this.entries[this.entries.length - 1];
    return last === undefined ? this.compactedGenerationValue : last.generation;
  }

  /** Generation of the entry at `index`, or undefined when the index is compacted away or beyond the end. */
  generationAt(index: number): number | undefined {
    if (index === this.compactedIndexValue) return this.compactedGenerationValue;
    const entry = this.entries[index - this.compactedIndexValue - 1];
    return entry === undefined ? undefined : entry.generation;
  }

  /** The entry at `index`, if held. */
  entryAt(index: number): LogEntry | undefined {
    if (index <= this.compactedIndexValue) return undefined;
    return this.entries[index - this.compactedIndexValue - 1];
  }

  /** True when this log holds an entry at `index` with `generation` (the match-point test). */
  matches(index: number, generation: number): boolean {
    return this.generationAt(index) === generation;
  }

  /**
   * Entries in [from, to], at most `maxBytes` of commands (at least one entry). Returns a new
   * array of the same entry objects: no command bytes are copied.
   */
  slice(from: number, to: number, maxBytes = Infinity): LogEntry[] {
    const result: LogEntry[] = [];
    let bytes = 0;
    const start = Math.max(from, this.firstIndex);
    const end = Math.min(to, this.lastIndex);
    for (let index = start; index <= end; index++) {
      const entry = this.entries[index - this.compactedIndexValue - 1];
      if (entry === undefined) break;
      bytes += entry.command.length;
      if (result.length > 0 && bytes > maxBytes) break;
      result.push(entry);
    }
    return result;
  }

  /** Appends entries that directly follow the last one. */
  append(entry: LogEntry): void {
    if (entry.index !== this.lastIndex + 1) {
      throw new Error(`append out of order: last ${this.lastIndex}, got ${entry.index}`);
    }
    this.entries.push(entry);
  }

  /** Drops every entry after `index` (a conflicting suffix). */
  truncateAfter(index: number): void {
    if (index < this.compactedIndexValue) {
      throw new Error(`cannot truncate at ${index}: compacted up to ${this.compactedIndexValue}`);
    }
    this.entries.length = Math.max(0, index - this.compactedIndexValue);
  }

  /** Drops every entry up to and including `index`, remembering its generation. */
  compactThrough(index: number): void {
    if (index <= this.compactedIndexValue) return;
    const generation = this.generationAt(index);
    if (generation === undefined) throw new Error(`cannot compact through ${index}: not held`);
    this.entries.splice(0, index - this.compactedIndexValue);
    this.compactedIndexValue = index;
    this.compactedGenerationValue = generation;
  }

  /** Discards everything and restarts the log right after a snapshot. */
  resetTo(index: number, generation: number): void {
    this.entries = [];
    this.compactedIndexValue = index;
    this.compactedGenerationValue = generation;
  }

  /**
   * The largest index at or below `index` whose generation is at or below `generation` (the fast
   * back-off hint: every entry in between is known not to match).
   */
  lastIndexWithGenerationAtMost(index: number, generation: number): number {
    let candidate = Math.min(index, this.lastIndex);
    while (candidate > this.compactedIndexValue) {
      const entryGeneration = this.generationAt(candidate);
      if (entryGeneration !== undefined && entryGeneration <= generation) return candidate;
      candidate--;
    }
    return this.compactedIndexValue;
  }
}
