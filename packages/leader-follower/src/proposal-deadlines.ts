/**
 * The deadlines of waiting proposals, oldest first. Proposals arrive in time order and share one
 * timeout, so their deadlines do too: a queue suffices. Kept as three parallel number arrays
 * rather than an object per proposal, because every proposal adds one (garbage per entry on the
 * commit path otherwise).
 */
export class ProposalDeadlines {
  private at: number[] = [];
  private index: number[] = [];
  private generation: number[] = [];
  /** Position of the oldest deadline still kept. */
  private first = 0;

  /** Adds the deadline of the proposal at `index` in `generation`. */
  push(at: number, index: number, generation: number): void {
    this.at.push(at);
    this.index.push(index);
    this.generation.push(generation);
  }

  /** Whether no deadline is kept. */
  get empty(): boolean {
    return this.first >= this.at.length;
  }

  /** When the oldest kept deadline falls (call only when not {@link empty}). */
  get oldestAt(): number {
    return this.at[this.first]!;
  }

  /** The log index of the oldest kept deadline's proposal. */
  get oldestIndex(): number {
    return this.index[this.first]!;
  }

  /** The generation of the oldest kept deadline's proposal. */
  get oldestGeneration(): number {
    return this.generation[this.first]!;
  }

  /** Forgets the oldest deadline; the arrays are cut once most of them are forgotten. */
  dropOldest(): void {
    this.first++;
    if (this.first >= this.at.length) this.clear();
    else if (this.first > 1024 && this.first * 2 > this.at.length) {
      this.at = this.at.slice(this.first);
      this.index = this.index.slice(this.first);
      this.generation = this.generation.slice(this.first);
      this.first = 0;
    }
  }

  /** Forgets every deadline. */
  clear(): void {
    this.at = [];
    this.index = [];
    this.generation = [];
    this.first = 0;
  }
}
