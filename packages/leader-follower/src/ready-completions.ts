/** One tracked item and whether its storage work is done. */
interface Slot<T> {
  readonly item: T;
  done: boolean;
}

/** Drop released slots from the front once this many have piled up (and they are most). */
const COMPACT_AFTER = 1024;

/**
 * Items (the node's Readies) whose storage work is under way, handed on once durable in the
 * order they were tracked, whatever order their promises settle in.
 *
 * The node answers peers, reports durability and applies deferred entries Ready by Ready, in
 * Ready order. It must not count on the order promise reactions run in: a storage may settle
 * several `persist` calls in one turn, and one more promise hop on an earlier Ready's chain (a
 * timing observer's, say) then lets a later Ready act first and apply its entries before the
 * earlier Ready's (the divergence that got an earlier attempt at fewer hops reverted; see
 * leader-follower-node.durability-order.test.ts). Here each Ready waits in a FIFO, and each
 * completion releases every Ready at the head that is done, in order, with one promise reaction
 * per Ready.
 */
export class ReadyCompletions<T> {
  private readonly slots: Slot<T>[] = [];
  /** Position of the oldest slot not released yet. */
  private head = 0;

  /**
   * @param complete called with each item once its work and that of every item tracked before it
   *   is done; it handles its own errors.
   * @param fail called with the error of a failed item's work; that item and every later one are
   *   never completed (fail-stop).
   */
  constructor(
    private readonly complete: (item: T) => void,
    private readonly fail: (error: unknown) => void,
  ) {}

  /** Tracks `item`, whose storage work settles `durable`. */
  track(item: T, durable: Promise<unknown>): void {
    const slot: Slot<T> = { item, done: false };
    this.slots.push(slot);
    durable.then(() => {
      slot.done = true;
      this.release();
    }, this.fail);
  }

  /** Hands on the items at the head whose work is done, oldest first. */
  private release(): void {
    const slots = this.slots;
    while (this.head < slots.length) {
      const slot = slots[this.head]!;
      if (!slot.done) break;
      this.head++;
      this.complete(slot.item);
    }
    if (this.head === slots.length) {
      slots.length = 0;
      this.head = 0;
    } else if (this.head > COMPACT_AFTER && this.head * 2 > slots.length) {
      slots.splice(0, this.head);
      this.head = 0;
    }
  }
}
