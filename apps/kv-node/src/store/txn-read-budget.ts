/**
 * The read budget of a write transaction: how much its ranges may visit and materialize. A write
 * transaction is a log entry, applied on every member for as long as the log (or a replay of it)
 * exists, so what it costs to apply must be bounded when it is admitted; see docs/design.md,
 * "Admission, not apply".
 */

/**
 * Bounds of the reads of one write transaction: all its ranges and comparisons over key ranges
 * together, both branches, every nesting level.
 */
export interface TxnReadLimits {
  /**
   * Most keys the ranges and range comparisons may visit (a range visits every key in it, if
   * only to count it; a range comparison may visit every key in its range).
   */
  maxKeys: number;
  /** Most key and value bytes the ranges may materialize into their results. */
  maxBytes: number;
}

/** 10,000 keys and 4 MiB: ample for reading a few records back with a write. */
export const DEFAULT_TXN_READ_LIMITS: TxnReadLimits = {
  maxKeys: 10_000,
  maxBytes: 4 * 1024 * 1024,
};

/**
 * A running account of what a transaction's ranges visited and materialized. Once a charge goes
 * over a limit the budget is `exceeded` for good and every later charge fails too.
 */
export class TxnReadBudget {
  /** Keys visited so far. */
  keys = 0;
  /** Key and value bytes materialized so far. */
  bytes = 0;
  #exceeded = false;
  /** The limits charged against. */
  readonly limits: TxnReadLimits;

  /** @param limits see {@link TxnReadLimits}. */
  constructor(limits: TxnReadLimits) {
    this.limits = limits;
  }

  /** Whether a charge went over a limit. */
  get exceeded(): boolean {
    return this.#exceeded;
  }

  /** Charges one visited key; false (and exceeded from now on) when over the key limit. */
  chargeKey(): boolean {
    if (this.#exceeded) return false;
    if (++this.keys > this.limits.maxKeys) this.#exceeded = true;
    return !this.#exceeded;
  }

  /** Charges `count` materialized bytes; false (and exceeded) when over the byte limit. */
  chargeBytes(count: number): boolean {
    if (this.#exceeded) return false;
    this.bytes += count;
    if (this.bytes > this.limits.maxBytes) this.#exceeded = true;
    return !this.#exceeded;
  }
}

/**
 * How the ranges of a write transaction are evaluated: `'all'` reads them in full (a read-only
 * transaction served locally), `'none'` reads nothing (a member no client waits on: each range
 * becomes `rangeNotRead`), a {@link TxnReadBudget} reads until the budget runs out and leaves the
 * ranges from there on `rangeNotRead`.
 */
export type TxnReads = 'all' | 'none' | TxnReadBudget;
