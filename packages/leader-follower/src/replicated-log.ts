import { commandBytesOf, EMPTY_COMMAND, isHollowEntry } from './log-entry.js';
import type { LogEntry } from './log-entry.js';
import type { ClusterConfiguration } from './cluster-configuration.js';
import { ConfigurationHistory } from './configuration-history.js';

/**
 * The in-memory view of one server's log: every entry above the compaction point. The core reads
 * it top to bottom as the algorithm; the driver mirrors every change into the write-ahead log.
 *
 * Entries below `compactedIndex` are gone (covered by a snapshot); the generation of the entry AT
 * `compactedIndex` is remembered so that a match check against it still works.
 *
 * The payload window: entries through `hollowThrough` are hollow (index, generation, kind and
 * command size kept, command bytes dropped; see {@link LogEntry.hollowCommandBytes}) once the
 * driver says they are applied and durable and more than the window's bytes are held. Only a
 * follower that lags needs those bytes again, and the driver reads them back from the
 * write-ahead log.
 */
export class ReplicatedLog {
  private entries: LogEntry[] = [];
  private compactedIndexValue: number;
  private compactedGenerationValue: number;
  /** Every entry at or below this index is hollow (or compacted away). */
  private hollowThroughValue: number;
  /** Command bytes held in memory: the sum over the entries above `hollowThroughValue`. */
  private heldCommandBytes = 0;
  /** The configurations this log holds, kept in step with it (see {@link ConfigurationHistory}). */
  readonly configurations: ConfigurationHistory;

  /**
   * @param baseConfiguration - the configuration in force at `compactedIndex` (the snapshot's or
   *   the initial members'): configuration entries in `entries` supersede it.
   */
  constructor(
    compactedIndex: number,
    compactedGeneration: number,
    entries: readonly LogEntry[],
    baseConfiguration?: ClusterConfiguration,
  ) {
    this.configurations = new ConfigurationHistory(baseConfiguration);
    this.compactedIndexValue = compactedIndex;
    this.compactedGenerationValue = compactedGeneration;
    this.hollowThroughValue = compactedIndex;
    // Recovered entries may start hollow (see `RecoveredTail`): through the last hollow one, the
    // entries are held hollow, a whole configuration entry among them after its configuration
    // was noted.
    let lastHollow = compactedIndex;
    for (const entry of entries) if (isHollowEntry(entry)) lastHollow = entry.index;
    let expected = compactedIndex + 1;
    for (const entry of entries) {
      if (entry.index < expected) continue;
      if (entry.index !== expected) {
        throw new Error(`log gap: expected index ${expected}, got ${entry.index}`);
      }
      if (entry.index <= lastHollow) this.appendRecoveredHollow(entry);
      else this.append(entry);
      expected++;
    }
  }

  /** Appends a recovered entry of the hollow prefix, hollow (its bytes stay in the log on disk). */
  private appendRecoveredHollow(entry: LogEntry): void {
    if (!isHollowEntry(entry)) this.configurations.appended(entry);
    else if (entry.kind === 'configuration') {
      // Its configuration would be lost: a storage must hand configuration entries back whole.
      throw new Error(`configuration entry ${entry.index} recovered hollow`);
    }
    this.entries.push(
      isHollowEntry(entry) || entry.command.length === 0
        ? entry
        : {
            index: entry.index,
            generation: entry.generation,
            kind: entry.kind,
            command: EMPTY_COMMAND,
            hollowCommandBytes: entry.command.length,
          },
    );
    this.hollowThroughValue = entry.index;
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

  /** Every entry at or below this index has dropped its command bytes (or is compacted away). */
  get hollowThrough(): number {
    return this.hollowThroughValue;
  }

  /** Bytes of command payload held in memory (hollow entries count nothing). */
  get payloadBytes(): number {
    return this.heldCommandBytes;
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

  /** The entry at `index`, if held (it may be hollow: see {@link isHollowEntry}). */
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
   * array of the same entry objects: no command bytes are copied. Hollow entries count their
   * real command size, so a batch refilled from the write-ahead log keeps to `maxBytes`.
   */
  slice(from: number, to: number, maxBytes = Infinity): LogEntry[] {
    const result: LogEntry[] = [];
    let bytes = 0;
    const start = Math.max(from, this.firstIndex);
    const end = Math.min(to, this.lastIndex);
    for (let index = start; index <= end; index++) {
      const entry = this.entries[index - this.compactedIndexValue - 1];
      if (entry === undefined) break;
      bytes += commandBytesOf(entry);
      if (result.length > 0 && bytes > maxBytes) break;
      result.push(entry);
    }
    return result;
  }

  /**
   * Appends entries that directly follow the last one.
   * @throws Error when `entry` does not follow the last entry or is hollow (a new entry must
   *   carry its bytes: they are still to be persisted and applied).
   */
  append(entry: LogEntry): void {
    if (entry.index !== this.lastIndex + 1) {
      throw new Error(`append out of order: last ${this.lastIndex}, got ${entry.index}`);
    }
    if (isHollowEntry(entry)) throw new Error(`cannot append hollow entry ${entry.index}`);
    this.configurations.appended(entry);
    this.entries.push(entry);
    this.heldCommandBytes += entry.command.length;
  }

  /** Drops every entry after `index` (a conflicting suffix). */
  truncateAfter(index: number): void {
    if (index < this.compactedIndexValue) {
      throw new Error(`cannot truncate at ${index}: compacted up to ${this.compactedIndexValue}`);
    }
    this.forgetHeldBytes(Math.max(index, this.hollowThroughValue) + 1, this.lastIndex);
    this.entries.length = Math.max(0, index - this.compactedIndexValue);
    this.configurations.truncatedAfter(index);
    if (this.hollowThroughValue > index) this.hollowThroughValue = index;
  }

  /** Drops every entry up to and including `index`, remembering its generation. */
  compactThrough(index: number): void {
    if (index <= this.compactedIndexValue) return;
    const generation = this.generationAt(index);
    if (generation === undefined) throw new Error(`cannot compact through ${index}: not held`);
    this.forgetHeldBytes(this.hollowThroughValue + 1, index);
    this.entries.splice(0, index - this.compactedIndexValue);
    this.compactedIndexValue = index;
    this.compactedGenerationValue = generation;
    this.configurations.compactedThrough(index);
    if (this.hollowThroughValue < index) this.hollowThroughValue = index;
  }

  /**
   * Discards everything and restarts the log right after a snapshot, whose configuration (if it
   * records one) becomes the one in force.
   */
  resetTo(index: number, generation: number, configuration?: ClusterConfiguration): void {
    this.entries = [];
    this.configurations.reset(configuration);
    this.compactedIndexValue = index;
    this.compactedGenerationValue = generation;
    this.hollowThroughValue = index;
    this.heldCommandBytes = 0;
  }

  /**
   * Drops the command bytes of the oldest entries through `index` (the caller vouches that they
   * are applied and durable) until at most `keepRecentBytes` of payload is held, so the most
   * recent payloads stay in memory for followers that are only slightly behind. The entries
   * stay, hollow: index, generation, kind and command size. Returns how many were hollowed.
   */
  dropPayloadsThrough(index: number, keepRecentBytes: number): number {
    const limit = Math.min(index, this.lastIndex);
    let hollowed = 0;
    while (this.hollowThroughValue < limit && this.heldCommandBytes > keepRecentBytes) {
      const position = this.hollowThroughValue - this.compactedIndexValue;
      const entry = this.entries[position];
      if (entry === undefined) break;
      const size = entry.command.length;
      if (size > 0) {
        // A new object: the Ready and messages handed out earlier keep the full entry.
        this.entries[position] = {
          index: entry.index,
          generation: entry.generation,
          kind: entry.kind,
          command: EMPTY_COMMAND,
          hollowCommandBytes: size,
        };
        this.heldCommandBytes -= size;
        hollowed++;
      }
      this.hollowThroughValue++;
    }
    return hollowed;
  }

  /** Subtracts the held bytes of the (non-hollow) entries in [from, to]. */
  private forgetHeldBytes(from: number, to: number): void {
    for (let index = from; index <= to; index++) {
      const entry = this.entries[index - this.compactedIndexValue - 1];
      if (entry !== undefined) this.heldCommandBytes -= entry.command.length;
    }
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
