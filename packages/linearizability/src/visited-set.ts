// Lowe's cache: every (linearized set, model state) configuration the search has entered. Entries
// are never removed.
//
// Beyond Lowe and Porcupine, configurations are compared up to indeterminate operations: a
// configuration that has linearized a superset of the indeterminate operations of one already seen
// (same acknowledged operations, same state) cannot succeed where that one failed, because those
// operations may also never take effect and their returns (at +infinity) constrain nothing. Without
// this, n open indeterminate writes make the search visit 2^n subsets. Bitsets live in one growing arena and entries chain through typed arrays, so
// adding an entry allocates nothing but the occasional arena growth: per-entry typed arrays and
// objects made garbage collection dominate the search.

/**
 * A set of (bitset, state) pairs compared exactly; `hash` only picks the chain, so it must cover the
 * state and the acknowledged operations' bits only.
 */
export class VisitedSet {
  private bits: Uint32Array;
  private states: unknown[] = [];
  private nextInChain: Int32Array;
  private readonly chainHeads = new Map<number, number>();
  private count = 0;

  /**
   * @param words length of every bitset, in 32-bit words.
   * @param acknowledged bitset of the operations that must be linearized (not indeterminate).
   */
  constructor(
    private readonly words: number,
    private readonly equal: (a: unknown, b: unknown) => boolean,
    private readonly acknowledged: Uint32Array = new Uint32Array(words).fill(0xffffffff),
  ) {
    this.bits = new Uint32Array(words * 64);
    this.nextInChain = new Int32Array(64);
  }

  /** Number of configurations stored. */
  get size(): number {
    return this.count;
  }

  /**
   * Adds the configuration unless it, or one it subsumes, is already present.
   * @param hash any 32-bit hash of (bitset, state) consistent with exact equality.
   * @returns true if it was added (nothing seen before covers it).
   */
  add(hash: number, linearized: Uint32Array, state: unknown): boolean {
    const { words, equal } = this;
    const head = this.chainHeads.get(hash);
    for (let entry = head ?? -1; entry !== -1; entry = this.nextInChain[entry]!) {
      if (this.covers(entry, linearized) && equal(this.states[entry], state)) return false;
    }
    const entry = this.count++;
    if (entry === this.nextInChain.length) this.grow();
    this.bits.set(linearized, entry * words);
    this.states.push(state);
    this.nextInChain[entry] = head ?? -1;
    this.chainHeads.set(hash, entry);
    return true;
  }

  /** Same acknowledged operations, and the entry's indeterminate ones a subset of `linearized`'s. */
  private covers(entry: number, linearized: Uint32Array): boolean {
    const { bits, acknowledged } = this;
    const offset = entry * this.words;
    for (let word = 0; word < this.words; word++) {
      const seen = bits[offset + word]!;
      const now = linearized[word]!;
      if ((seen & ~now) !== 0 || (now & ~seen & acknowledged[word]!) !== 0) return false;
    }
    return true;
  }

  private grow(): void {
    const capacity = this.nextInChain.length * 2;
    const bits = new Uint32Array(capacity * this.words);
    bits.set(this.bits);
    this.bits = bits;
    const chain = new Int32Array(capacity);
    chain.set(this.nextInChain);
    this.nextInChain = chain;
  }
}
