import { decodeConfiguration } from './cluster-configuration.js';
import type { ClusterConfiguration } from './cluster-configuration.js';
import type { LogEntry } from './log-entry.js';

/** A configuration entry of the log: where it is and what it says. */
export interface ConfigurationAt {
  readonly index: number;
  /** Generation of the leader that appended the entry. */
  readonly generation: number;
  readonly configuration: ClusterConfiguration;
}

/**
 * The configurations a server's log holds (Raft's rule: the latest one in the log is in force,
 * committed or not), and the one in force below them: the snapshot's, or the initial members'.
 * The log keeps it in step with every append, truncation, compaction and reset, so a truncated
 * configuration entry takes its configuration with it and compaction never loses one.
 */
export class ConfigurationHistory {
  private base: ClusterConfiguration | undefined;
  /** Configuration entries above the compaction point, in index order. */
  private readonly entries: ConfigurationAt[] = [];

  constructor(base: ClusterConfiguration | undefined) {
    this.base = base;
  }

  /** The configuration in force: the latest entry's, else the base. */
  get inForce(): ClusterConfiguration | undefined {
    return this.entries[this.entries.length - 1]?.configuration ?? this.base;
  }

  /** Index of the latest configuration entry still in the log (0 when none is). */
  get latestEntryIndex(): number {
    return this.entries[this.entries.length - 1]?.index ?? 0;
  }

  /**
   * How many configuration entries the log holds above `index` (uncommitted ones, for a mark),
   * counting only those of `generation` when given (a leader's own).
   */
  countAbove(index: number, generation?: number): number {
    let count = 0;
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const entry = this.entries[i];
      if (entry === undefined || entry.index <= index) break;
      if (generation === undefined || entry.generation === generation) count++;
    }
    return count;
  }

  /** The configuration in force as of `index` (what a snapshot through `index` records). */
  at(index: number): ClusterConfiguration | undefined {
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const entry = this.entries[i];
      if (entry !== undefined && entry.index <= index) return entry.configuration;
    }
    return this.base;
  }

  /**
   * An entry was appended to the log.
   * @throws ConfigurationError when a configuration entry's bytes are not a valid configuration.
   */
  appended(entry: LogEntry): void {
    if (entry.kind !== 'configuration') return;
    this.entries.push({
      index: entry.index,
      generation: entry.generation,
      configuration: decodeConfiguration(entry.command),
    });
  }

  /** Every entry after `index` was dropped. */
  truncatedAfter(index: number): void {
    while ((this.entries[this.entries.length - 1]?.index ?? 0) > index) this.entries.pop();
  }

  /** Every entry through `index` was compacted away: the latest of them becomes the base. */
  compactedThrough(index: number): void {
    while (this.entries.length > 0 && (this.entries[0]?.index ?? Infinity) <= index) {
      this.base = this.entries.shift()?.configuration;
    }
  }

  /** The log restarted after a snapshot that records `configuration` (undefined: keep the base). */
  reset(configuration: ClusterConfiguration | undefined): void {
    this.entries.length = 0;
    if (configuration !== undefined) this.base = configuration;
  }
}
