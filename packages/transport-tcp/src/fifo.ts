/**
 * A first-in first-out queue on a growable ring buffer: O(1) push and shift with no copying
 * except when it doubles, which matters when hundreds of thousands of messages are queued.
 */
export class Fifo<T> {
  private items: (T | undefined)[] = new Array<T | undefined>(16);
  private head = 0;
  private count = 0;

  /** Number of items queued. */
  get length(): number {
    return this.count;
  }

  /** Adds an item at the back. */
  push(item: T): void {
    if (this.count === this.items.length) this.grow();
    this.items[(this.head + this.count) & (this.items.length - 1)] = item;
    this.count += 1;
  }

  /** The item at position `index` from the front, or undefined. */
  at(index: number): T | undefined {
    if (index < 0 || index >= this.count) return undefined;
    return this.items[(this.head + index) & (this.items.length - 1)];
  }

  /** Removes and returns the front item, or undefined when empty. */
  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) & (this.items.length - 1);
    this.count -= 1;
    return item;
  }

  /** Removes every item and returns them in order. */
  drain(): T[] {
    const drained: T[] = [];
    for (let index = 0; index < this.count; index += 1) drained.push(this.at(index)!);
    this.items = new Array<T | undefined>(16);
    this.head = 0;
    this.count = 0;
    return drained;
  }

  private grow(): void {
    const grown = new Array<T | undefined>(this.items.length * 2);
    for (let index = 0; index < this.count; index += 1) grown[index] = this.at(index);
    this.items = grown;
    this.head = 0;
  }
}
