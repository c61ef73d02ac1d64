/** One line of a {@link SometimesCounters} report. */
export interface SometimesEntry {
  readonly name: string;
  readonly hits: number;
}

/**
 * "Sometimes" assertions (DESIGN.md §7): events that must happen at least once over a seed set
 * (a torn tail was repaired, a stale leader stepped down), or the runs did not exercise what they
 * claim to test. Share one instance across the seeds of a test, then call {@link assertAllHit}.
 */
export class SometimesCounters {
  private readonly counts = new Map<string, number>();

  /** @param expected Names that must be hit; they appear in the report with 0 until they are. */
  constructor(expected: readonly string[] = []) {
    for (const name of expected) this.counts.set(name, 0);
  }

  /** Declares more names that must be hit. */
  expect(...names: string[]): void {
    for (const name of names) if (!this.counts.has(name)) this.counts.set(name, 0);
  }

  /** Counts one occurrence of `name` (declared or not). */
  hit(name: string): void {
    this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
  }

  /** How often `name` was hit. */
  count(name: string): number {
    return this.counts.get(name) ?? 0;
  }

  /** Declared names never hit, sorted. */
  get unhit(): string[] {
    return [...this.counts]
      .filter(([, hits]) => hits === 0)
      .map(([name]) => name)
      .sort();
  }

  /** Every name with its count, sorted by name. */
  report(): SometimesEntry[] {
    return [...this.counts]
      .map(([name, hits]) => ({ name, hits }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** The report as text, one `name: hits` per line, unhit ones marked. */
  summary(): string {
    return this.report()
      .map(({ name, hits }) => `${hits === 0 ? 'NEVER ' : ''}${name}: ${hits}`)
      .join('\n');
  }

  /** @throws Error listing every declared name that was never hit. */
  assertAllHit(): void {
    const missing = this.unhit;
    if (missing.length > 0) {
      throw new Error(`sometimes-conditions never hit: ${missing.join(', ')}\n${this.summary()}`);
    }
  }
}
