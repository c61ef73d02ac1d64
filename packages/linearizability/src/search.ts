import { mix32 } from './hash.js';
import type { Model } from './model.js';
import type { Operation } from './operation.js';
import { VisitedSet } from './visited-set.js';

// Wing & Gong's search with Lowe's cache, as Porcupine runs it. Calls and returns of one key's
// operations form a doubly linked list in real-time order. Linearizing an operation lifts its call
// and return out of the list; backtracking puts them back. Meeting a return means the operation it
// closes should already have been linearized: backtrack. The cache remembers every (linearized set,
// state) pair already explored, so the search never explores the same configuration twice (nor one
// that only adds indeterminate operations to an explored one: see visited-set.ts).

class Entry {
  prev: Entry | null = null;
  next: Entry | null = null;
  /** For a call, its return; `null` for a return. */
  match: Entry | null = null;
  constructor(
    /** Index of the operation within the partition. */
    readonly operation: number,
    /** Real-time position of the event; `Infinity` for the return of an indeterminate operation. */
    readonly position: number,
  ) {}
}

/** A linearized operation and the state before it; frames form an immutable list, newest first. */
interface Frame {
  readonly entry: Entry;
  readonly state: unknown;
  readonly previous: Frame | null;
}

/** Shared step and time budget for every partition of one check. */
export interface Budget {
  steps: number;
  readonly stepLimit: number;
  readonly deadline: number;
  readonly now: (() => number) | undefined;
}

/** What one partition's search found. */
export type SearchOutcome =
  | { readonly kind: 'linearizable' }
  | { readonly kind: 'budget'; readonly reason: 'steps' | 'time' }
  | {
      readonly kind: 'not-linearizable';
      /** The operation whose completion could not be reached, at the search's furthest point. */
      readonly failing: Operation;
      /** The furthest legal sequential order found, operations in linearization order. */
      readonly prefix: readonly Operation[];
      /** The model state after `prefix`. */
      readonly stateAfterPrefix: unknown;
    };

const timeCheckInterval = 1024;

function buildList(operations: readonly Operation[]): Entry {
  const events: Entry[] = [];
  operations.forEach((operation, index) => {
    const call = new Entry(index, operation.invokeIndex);
    const ret = new Entry(index, operation.completeIndex);
    call.match = ret;
    events.push(call, ret);
  });
  // Ties happen only between returns at Infinity; keep them in invoke order.
  events.sort((a, b) => a.position - b.position || a.operation - b.operation);
  const head = new Entry(-1, -Infinity);
  let last = head;
  for (const entry of events) {
    last.next = entry;
    entry.prev = last;
    last = entry;
  }
  return head;
}

function lift(call: Entry): void {
  // A call always has its return after it, so call.next is never null.
  call.prev!.next = call.next;
  call.next!.prev = call.prev;
  const ret = call.match!;
  ret.prev!.next = ret.next;
  if (ret.next !== null) ret.next.prev = ret.prev;
}

function unlift(call: Entry): void {
  const ret = call.match!;
  ret.prev!.next = ret;
  if (ret.next !== null) ret.next.prev = ret;
  call.prev!.next = call;
  call.next!.prev = call;
}

/**
 * A resumable search for a linearization of one key's operations: `run` works for a number of
 * steps and returns `undefined` if it has not finished, so that many keys can share a budget fairly
 * (a key that fails fast is found even when another key's search is long).
 */
export class PartitionSearch {
  private readonly head: Entry;
  private readonly linearized: Uint32Array;
  // Zobrist hashing: each operation owns a random-looking word; the set's hash is their XOR.
  private readonly operationHash: Int32Array;
  private linearizedHash = 0;
  private readonly visited: VisitedSet;
  /** The linearized operations so far; keeping a reference snapshots the order in O(1). */
  private top: Frame | null = null;
  private state: unknown;
  private entry: Entry | null;
  private furthest = -1;
  private failing: Operation | undefined;
  private furthestTop: Frame | null = null;
  private stateAfterPrefix: unknown;

  /** @param operations one key's operations, in invoke order. */
  constructor(
    private readonly operations: readonly Operation[],
    private readonly model: Model<unknown>,
  ) {
    this.head = buildList(operations);
    this.linearized = new Uint32Array(Math.ceil(operations.length / 32) || 1);
    // Indeterminate operations stay out of the hash: the visited set compares them by inclusion.
    this.operationHash = Int32Array.from(operations, (operation, index) =>
      operation.status === 'info' ? 0 : mix32(Math.imul(index, 0x9e3779b9) + 0x632be5ab),
    );
    const acknowledged = new Uint32Array(this.linearized.length);
    operations.forEach((operation, index) => {
      if (operation.status === 'ok') acknowledged[index >>> 5]! |= 1 << (index & 31);
    });
    this.visited = new VisitedSet(
      this.linearized.length,
      (a, b) => model.equal(a, b),
      acknowledged,
    );
    this.state = model.initial();
    this.stateAfterPrefix = this.state;
    this.entry = this.head.next;
  }

  /**
   * Searches for up to `steps` steps (fewer if `budget` runs out first, counted in `budget.steps`).
   * @returns the outcome, or `undefined` if the search needs more steps.
   */
  run(budget: Budget, steps: number): SearchOutcome | undefined {
    const { head, linearized, operationHash, visited, operations, model } = this;
    let { state, entry, linearizedHash, top } = this;
    const stopAt = Math.min(budget.steps + steps, budget.stepLimit);
    try {
      while (entry !== null) {
        if (budget.steps >= stopAt) {
          return budget.steps >= budget.stepLimit ? { kind: 'budget', reason: 'steps' } : undefined;
        }
        budget.steps++;
        if (
          budget.now !== undefined &&
          budget.steps % timeCheckInterval === 0 &&
          budget.now() > budget.deadline
        ) {
          return { kind: 'budget', reason: 'time' };
        }
        if (entry.match !== null) {
          const index = entry.operation;
          const next = model.step(state, operations[index]!);
          if (next !== undefined) {
            const word = index >>> 5;
            const bit = 1 << (index & 31);
            linearized[word]! |= bit;
            const setHash = linearizedHash ^ operationHash[index]!;
            const key = (setHash ^ Math.imul(model.hash(next), 0x27d4eb2d)) | 0;
            if (visited.add(key, linearized, next)) {
              top = { entry, state, previous: top };
              state = next;
              linearizedHash = setHash;
              lift(entry);
              entry = head.next;
              continue;
            }
            linearized[word]! &= ~bit;
          }
          entry = entry.next;
          continue;
        }
        // A return: its operation must already be linearized here.
        if (entry.position === Infinity) {
          // Every remaining operation is indeterminate and may never have taken effect.
          return { kind: 'linearizable' };
        }
        if (entry.position > this.furthest) {
          this.furthest = entry.position;
          this.failing = operations[entry.operation];
          this.furthestTop = top;
          this.stateAfterPrefix = state;
        }
        const frame = top;
        if (frame === null) {
          return {
            kind: 'not-linearizable',
            failing: this.failing!,
            prefix: this.linearizationOf(this.furthestTop),
            stateAfterPrefix: this.stateAfterPrefix,
          };
        }
        top = frame.previous;
        const index = frame.entry.operation;
        linearized[index >>> 5]! &= ~(1 << (index & 31));
        linearizedHash ^= operationHash[index]!;
        state = frame.state;
        unlift(frame.entry);
        entry = frame.entry.next;
      }
      return { kind: 'linearizable' };
    } finally {
      this.state = state;
      this.entry = entry;
      this.linearizedHash = linearizedHash;
      this.top = top;
    }
  }

  private linearizationOf(top: Frame | null): Operation[] {
    const order: Operation[] = [];
    for (let frame = top; frame !== null; frame = frame.previous) {
      order.push(this.operations[frame.entry.operation]!);
    }
    return order.reverse();
  }
}
