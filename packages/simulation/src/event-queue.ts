/** One scheduled callback on virtual time. Exposed so it can be cancelled. */
export interface ScheduledEvent {
  /** Virtual time in milliseconds at which the event runs. */
  readonly time: number;
  /** Tie-breaker: events at the same time run in the order they were scheduled. */
  readonly sequence: number;
  /** Short description for the trace (`timer`, `deliver`, `disk`, ...). */
  readonly label: string;
  /** True once the event was cancelled or has run; a cancelled event is skipped at the front. */
  cancelled: boolean;
  readonly callback: () => void;
}

function before(a: ScheduledEvent, b: ScheduledEvent): boolean {
  return a.time < b.time || (a.time === b.time && a.sequence < b.sequence);
}

/**
 * A binary min-heap of events ordered by (time, sequence). Cancellation is lazy: a cancelled
 * event stays in the heap until it reaches the front, which keeps cancel O(1).
 */
export class EventQueue {
  private readonly heap: ScheduledEvent[] = [];
  private live = 0;

  /** Number of events not yet run or cancelled. */
  get size(): number {
    return this.live;
  }

  /** Adds an event. */
  push(event: ScheduledEvent): void {
    const heap = this.heap;
    heap.push(event);
    this.live++;
    let index = heap.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      const parentEvent = heap[parent] as ScheduledEvent;
      if (!before(event, parentEvent)) break;
      heap[index] = parentEvent;
      index = parent;
    }
    heap[index] = event;
  }

  /** Marks an event cancelled. Cancelling twice, or after it ran, does nothing. */
  cancel(event: ScheduledEvent): void {
    if (event.cancelled) return;
    event.cancelled = true;
    this.live--;
  }

  /** The earliest live event without removing it, or undefined when empty. */
  peek(): ScheduledEvent | undefined {
    this.dropCancelledFront();
    return this.heap[0];
  }

  /** Removes and returns the earliest live event, or undefined when empty. */
  pop(): ScheduledEvent | undefined {
    this.dropCancelledFront();
    const first = this.heap[0];
    if (first === undefined) return undefined;
    this.removeFront();
    this.live--;
    // Marks it so a late cancel() of an event that already ran does not corrupt the count.
    first.cancelled = true;
    return first;
  }

  private dropCancelledFront(): void {
    while (this.heap.length > 0 && (this.heap[0] as ScheduledEvent).cancelled) this.removeFront();
  }

  private removeFront(): void {
    const heap = this.heap;
    const last = heap.pop() as ScheduledEvent;
    if (heap.length === 0) return;
    let index = 0;
    const length = heap.length;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= length) break;
      const right = left + 1;
      let child = left;
      if (right < length && before(heap[right] as ScheduledEvent, heap[left] as ScheduledEvent)) {
        child = right;
      }
      const childEvent = heap[child] as ScheduledEvent;
      if (!before(childEvent, last)) break;
      heap[index] = childEvent;
      index = child;
    }
    heap[index] = last;
  }
}
