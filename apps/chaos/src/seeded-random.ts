/** Uniform random numbers in [0, 1); seeded so that a run can be reproduced from its seed. */
export interface Random {
  next(): number;
}

/**
 * A small, fast seeded generator (mulberry32). The same seed always yields the same sequence,
 * which is what makes a nemesis schedule reproducible from the seed a run prints.
 */
export class SeededRandom implements Random {
  private state: number;

  /** @param seed any integer; only its low 32 bits matter. */
  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** The next number in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let mixed = this.state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max] (both inclusive). */
  integer(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /**
   * One element of `items`, chosen uniformly.
   * @throws RangeError if `items` is empty.
   */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick: no items');
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** A uniformly shuffled copy of `items` (Fisher-Yates). */
  shuffle<T>(items: readonly T[]): T[] {
    const copy = [...items];
    for (let index = copy.length - 1; index > 0; index--) {
      const other = Math.floor(this.next() * (index + 1));
      [copy[index], copy[other]] = [copy[other] as T, copy[index] as T];
    }
    return copy;
  }
}

/** A fresh seed for a run that was not given one (printed so the run can be repeated). */
export function freshSeed(): number {
  return Math.floor(Math.random() * 0x7fffffff);
}
