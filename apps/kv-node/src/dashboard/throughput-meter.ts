/** Write throughput from the growth of the high-water mark over a sliding window. */

interface IndexSample {
  /** Monotonic ms. */
  atMs: number;
  highWaterMark: number;
}

/**
 * Committed entries per second: the growth of the cluster's highest high-water mark over the
 * last `windowMs`. Each client write is one entry; each election adds one empty entry, which is
 * why the page calls this "committed entries/s".
 */
export class ThroughputMeter {
  readonly #windowMs: number;
  readonly #samples: IndexSample[] = [];

  /** @param windowMs the averaging window, in ms (default 3,000). */
  constructor(windowMs = 3000) {
    this.#windowMs = windowMs;
  }

  /**
   * Records the high-water mark at a monotonic time and returns the rate over the window.
   *
   * @param atMs monotonic time, ms.
   * @param highWaterMark the highest high-water mark known now, or `null` when none is.
   * @returns entries per second (0 until two samples span some time).
   */
  record(atMs: number, highWaterMark: number | null): number {
    if (highWaterMark === null) return this.rate();
    const last = this.#samples.at(-1);
    // A lower index means the nodes that knew the higher one are unreachable (or the cluster was
    // rebuilt): start over rather than report a negative rate.
    if (last !== undefined && (highWaterMark < last.highWaterMark || atMs < last.atMs)) {
      this.#samples.length = 0;
    }
    this.#samples.push({ atMs, highWaterMark });
    while (this.#samples.length > 2) {
      const second = this.#samples[1] as IndexSample;
      if (atMs - second.atMs < this.#windowMs) break;
      this.#samples.shift();
    }
    return this.rate();
  }

  /** The rate over the samples held, entries per second. */
  rate(): number {
    const first = this.#samples[0];
    const last = this.#samples.at(-1);
    if (first === undefined || last === undefined || last.atMs <= first.atMs) return 0;
    return ((last.highWaterMark - first.highWaterMark) * 1000) / (last.atMs - first.atMs);
  }
}
