import { SeededRandom } from './seeded-random.js';

/**
 * Independent random streams derived from one seed, one per subsystem (`network`, `disk`,
 * `workload`, `faults`, `node/athens`, ...). Each stream is keyed by the seed and its name, so a
 * subsystem that draws more numbers never shifts the numbers another subsystem sees: adding a
 * client does not change which messages the network drops.
 */
export class RandomStreams {
  private readonly streams = new Map<string, SeededRandom>();

  /** @param seed The run's seed; printed on failure and accepted back through `SIM_SEED`. */
  constructor(readonly seed: string | number) {}

  /** The stream with this name, created on first use and the same object afterwards. */
  stream(name: string): SeededRandom {
    let stream = this.streams.get(name);
    if (stream === undefined) {
      stream = new SeededRandom(`${String(this.seed)}/${name}`);
      this.streams.set(name, stream);
    }
    return stream;
  }
}
