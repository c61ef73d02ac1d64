import { assertLogIndex } from './log-index.js';
import { RequestAbandonedError } from './request-abandoned-error.js';
import type { RequestOutcome } from './request-abandoned-error.js';

interface Waiter<T> {
  readonly index: number;
  // Ties on the index resolve in the order the waits were added.
  readonly sequence: number;
  readonly resolve: (value: T) => void;
  readonly reject: (error: RequestAbandonedError) => void;
  readonly signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  settled: boolean;
}

/**
 * The `resultFor` argument of {@link RequestWaitingList.advanceTo}: optional when the list's
 * result type admits `undefined` (for example `void`), required otherwise.
 */
export type ResultForArgument<T> = undefined extends T
  ? [resultFor?: (index: number) => T]
  : [resultFor: (index: number) => T];

/**
 * The Request Waiting List pattern: client requests waiting, keyed by log index, for the
 * high-water mark (or the applied index) to reach their entry.
 *
 * The leader appends a client's command at index `i`, calls {@link add}`(i)` and answers the client
 * when the promise settles. {@link advanceTo} resolves every wait at or below a mark;
 * {@link rejectAll}, {@link rejectFrom} and {@link rejectThrough} reject waits in bulk with a {@link RequestAbandonedError}
 * that says whether the request is definitely not applied or its fate is unknown.
 *
 * The list does not know whose entry sits at an index: the caller must reject the waits when it
 * stops being the leader that appended them (usually with `'unknown'`: a later leader may still
 * commit those entries).
 *
 * @typeParam T - what a wait resolves with, for example the state machine's result for the entry.
 *
 * @example
 * ```ts
 * const waiting = new RequestWaitingList<string>();
 * const answer = waiting.add(7);
 * waiting.advanceTo(7, (index) => results.get(index)!); // answer resolves
 * waiting.rejectAll('unknown', 'leadership lost'); // on stepping down
 * ```
 */
export class RequestWaitingList<T = void> {
  // A binary min-heap on (index, sequence); abandoned waiters stay until they reach the top.
  readonly #heap: Waiter<T>[] = [];
  #nextSequence = 0;
  #pending = 0;
  // Unsettled waits per index, so `waitingAt` costs O(1).
  readonly #pendingAt = new Map<number, number>();
  #reachedIndex: number;

  /**
   * @param reachedIndex - the mark already reached (default 0); waits must be for later indexes.
   * @throws RangeError if `reachedIndex` is not a non-negative safe integer.
   */
  constructor(reachedIndex = 0) {
    assertLogIndex(reachedIndex, 'reachedIndex');
    this.#reachedIndex = reachedIndex;
  }

  /** The highest mark passed to {@link advanceTo} (or the constructor). Never decreases. */
  get reachedIndex(): number {
    return this.#reachedIndex;
  }

  /** Number of waits not yet settled. */
  get size(): number {
    return this.#pending;
  }

  /**
   * Number of waits not yet settled for exactly `index`: lets the code that reaches an index skip
   * building a result nobody waits for.
   */
  waitingAt(index: number): number {
    return this.#pendingAt.get(index) ?? 0;
  }

  /**
   * Waits until the mark reaches `index`.
   *
   * @param index - the log index of the request's entry; must be above {@link reachedIndex}
   *   (a request at or below it already has its outcome, so the caller answers it directly).
   * @param signal - aborting it rejects the wait with outcome `'unknown'` (for example a client
   *   timeout: the entry may still be committed).
   * @returns a promise resolved by {@link advanceTo}, or rejected with a
   *   {@link RequestAbandonedError}.
   * @throws RangeError if `index` is not a safe integer above {@link reachedIndex}.
   */
  add(index: number, signal?: AbortSignal): Promise<T> {
    assertLogIndex(index, 'index');
    if (index <= this.#reachedIndex) {
      throw new RangeError(`index ${index} is not above the reached index ${this.#reachedIndex}`);
    }
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter<T> = {
        index,
        sequence: this.#nextSequence++,
        resolve,
        reject,
        signal,
        onAbort: undefined,
        settled: false,
      };
      if (signal !== undefined) {
        if (signal.aborted) {
          reject(abortedError(index, signal));
          return;
        }
        waiter.onAbort = () => {
          this.#settle(waiter);
          reject(abortedError(index, signal));
          // Aborted waits stay in the heap until they reach its top; if the mark stalls while
          // many clients give up, drop them so the heap stays proportional to the live waits.
          if (this.#heap.length > 2 * this.#pending + 64) this.#rebuild(() => true);
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.#pending++;
      this.#pendingAt.set(index, (this.#pendingAt.get(index) ?? 0) + 1);
      this.#push(waiter);
    });
  }

  /**
   * Resolves every wait at or below `mark`, in index order. A mark at or below
   * {@link reachedIndex} changes nothing.
   *
   * @param mark - the high-water mark (or applied index) just reached.
   * @param resultFor - the value each wait resolves with, by index; may be omitted when `T`
   *   admits `undefined`.
   * @returns how many waits were resolved.
   * @throws RangeError if `mark` is not a non-negative safe integer.
   */
  advanceTo(mark: number, ...[resultFor]: ResultForArgument<T>): number {
    assertLogIndex(mark, 'mark');
    if (mark <= this.#reachedIndex) return 0;
    this.#reachedIndex = mark;
    let resolved = 0;
    for (let top = this.#heap[0]; top !== undefined && top.index <= mark; top = this.#heap[0]) {
      this.#pop();
      if (top.settled) continue;
      this.#settle(top);
      resolved++;
      // The caller promised T admits undefined when it omitted resultFor (ResultForArgument).
      top.resolve(resultFor === undefined ? (undefined as T) : resultFor(top.index));
    }
    return resolved;
  }

  /**
   * Rejects every pending wait with a {@link RequestAbandonedError}.
   *
   * @param outcome - what the clients may be told: `'unknown'` unless the entries are known to be
   *   lost.
   * @param reason - why, for example `'leadership lost'`.
   * @returns how many waits were rejected.
   */
  rejectAll(outcome: RequestOutcome, reason: string): number {
    return this.rejectFrom(0, outcome, reason);
  }

  /**
   * Rejects every pending wait for an index at or above `index`, for example when the entries from
   * `index` on were overwritten by another leader (`'not-applied'`).
   *
   * @returns how many waits were rejected.
   * @throws RangeError if `index` is not a non-negative safe integer.
   */
  rejectFrom(index: number, outcome: RequestOutcome, reason: string): number {
    assertLogIndex(index, 'index');
    return this.#rejectWhere((waiter) => waiter.index >= index, outcome, reason);
  }

  /**
   * Rejects every pending wait for an index at or below `index`, for example when a snapshot from
   * another leader replaced the entries through `index` and whether the requests' entries were
   * among them is not known (`'unknown'`). Does not move {@link reachedIndex}.
   *
   * @returns how many waits were rejected.
   * @throws RangeError if `index` is not a non-negative safe integer.
   */
  rejectThrough(index: number, outcome: RequestOutcome, reason: string): number {
    assertLogIndex(index, 'index');
    return this.#rejectWhere((waiter) => waiter.index <= index, outcome, reason);
  }

  #rejectWhere(
    reject: (waiter: Waiter<T>) => boolean,
    outcome: RequestOutcome,
    reason: string,
  ): number {
    const rejected: Waiter<T>[] = [];
    this.#rebuild((waiter) => {
      if (!reject(waiter)) return true;
      rejected.push(waiter);
      return false;
    });
    rejected.sort(byIndexThenSequence);
    for (const waiter of rejected) {
      this.#settle(waiter);
      waiter.reject(new RequestAbandonedError(waiter.index, outcome, reason));
    }
    return rejected.length;
  }

  // Rebuilds the heap from the unsettled waiters that `keep` accepts.
  #rebuild(keep: (waiter: Waiter<T>) => boolean): void {
    const live = this.#heap.filter((waiter) => !waiter.settled && keep(waiter));
    this.#heap.length = 0;
    for (const waiter of live) this.#push(waiter);
  }

  #settle(waiter: Waiter<T>): void {
    waiter.settled = true;
    this.#pending--;
    const left = (this.#pendingAt.get(waiter.index) ?? 1) - 1;
    if (left === 0) this.#pendingAt.delete(waiter.index);
    else this.#pendingAt.set(waiter.index, left);
    if (waiter.onAbort !== undefined) waiter.signal?.removeEventListener('abort', waiter.onAbort);
  }

  #push(waiter: Waiter<T>): void {
    const heap = this.#heap;
    heap.push(waiter);
    let child = heap.length - 1;
    while (child > 0) {
      const parent = (child - 1) >> 1;
      const parentWaiter = heap[parent]!;
      if (byIndexThenSequence(parentWaiter, waiter) <= 0) break;
      heap[child] = parentWaiter;
      child = parent;
    }
    heap[child] = waiter;
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop();
    if (last === undefined || heap.length === 0) return;
    let parent = 0;
    for (;;) {
      const left = 2 * parent + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const smaller =
        right < heap.length && byIndexThenSequence(heap[right]!, heap[left]!) < 0 ? right : left;
      if (byIndexThenSequence(last, heap[smaller]!) <= 0) break;
      heap[parent] = heap[smaller]!;
      parent = smaller;
    }
    heap[parent] = last;
  }
}

function byIndexThenSequence<T>(a: Waiter<T>, b: Waiter<T>): number {
  return a.index - b.index || a.sequence - b.sequence;
}

function abortedError(index: number, signal: AbortSignal): RequestAbandonedError {
  return new RequestAbandonedError(index, 'unknown', 'wait aborted', { cause: signal.reason });
}
