/** What the admission policy needs to know about a connection still in its handshake. */
export interface PendingHandshake {
  /** True once the caller sent a well-formed hello; sockets that sent nothing are evicted first. */
  readonly startedHandshake: boolean;
}

/**
 * Admission of unauthenticated connections: at most `maxTotal` at once, and at most
 * `maxPerAddress` from one source address. A newcomer is always admitted; to make room the
 * oldest idle connection (no hello yet) of the same address is evicted, else its oldest one, and
 * when the total is reached, the same from the address holding the most. So a flood of idle
 * sockets only ever evicts itself: a real peer, which sends its hello at once and finishes in two
 * round trips, is never displaced by idle sockets even when they come from its own address (a
 * shared NAT, or loopback), and a flood from one address never takes more than `maxPerAddress`
 * of the slots other addresses use.
 */
export class PendingHandshakes<T extends PendingHandshake> {
  private readonly byAddress = new Map<string, T[]>();
  private readonly addressOf = new Map<T, string>();

  /**
   * @param maxTotal - unauthenticated connections held at once (at least 1)
   * @param maxPerAddress - of which from one source address (at least 1)
   * @throws RangeError when a bound is below 1
   */
  constructor(
    private readonly maxTotal: number,
    private readonly maxPerAddress: number,
  ) {
    if (!(maxTotal >= 1) || !(maxPerAddress >= 1)) {
      throw new RangeError(
        `pending handshake bounds must be at least 1, got ${maxTotal} total and ${maxPerAddress} per address`,
      );
    }
  }

  /** Connections held. */
  get size(): number {
    return this.addressOf.size;
  }

  /** Connections held from `address`. */
  countFrom(address: string): number {
    return this.byAddress.get(address)?.length ?? 0;
  }

  /**
   * Admits `item` from `address` and returns the connections evicted to make room (at most one);
   * the caller closes them. They are no longer held.
   */
  admit(address: string, item: T): T[] {
    const evicted: T[] = [];
    if (this.countFrom(address) >= this.maxPerAddress) {
      evicted.push(this.evictFrom(address));
    } else if (this.size >= this.maxTotal) {
      evicted.push(this.evictFrom(this.busiestAddress()));
    }
    let list = this.byAddress.get(address);
    if (list === undefined) {
      list = [];
      this.byAddress.set(address, list);
    }
    list.push(item);
    this.addressOf.set(item, address);
    return evicted;
  }

  /** Forgets `item` (authenticated or closed); unknown items are ignored. */
  remove(item: T): void {
    const address = this.addressOf.get(item);
    if (address === undefined) return;
    this.addressOf.delete(item);
    const list = this.byAddress.get(address)!;
    list.splice(list.indexOf(item), 1);
    if (list.length === 0) this.byAddress.delete(address);
  }

  private evictFrom(address: string): T {
    const list = this.byAddress.get(address)!;
    const victim = list.find((item) => !item.startedHandshake) ?? list[0]!;
    this.remove(victim);
    return victim;
  }

  private busiestAddress(): string {
    let busiest = '';
    let most = 0;
    for (const [address, list] of this.byAddress) {
      if (list.length > most) {
        busiest = address;
        most = list.length;
      }
    }
    return busiest;
  }
}
