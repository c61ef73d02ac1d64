import { compareGenerations } from './compare-generations.js';
import { GenerationClockFailedError } from './errors.js';
import type { GenerationState } from './generation-state.js';
import { requireGeneration } from './generation-state.js';
import type { GenerationStore } from './generation-store.js';

/** Options for {@link GenerationClock.next}. */
export interface NextGenerationOptions {
  /** Record a vote in the new generation in the same write (a candidate votes for itself). */
  readonly votedFor?: string;
}

/**
 * A durable, monotonically increasing generation (Joshi's Generation Clock; Raft's term), with
 * the vote cast in it. Each election bumps the generation; every message carries it; anything
 * from an older generation is rejected. Because it is durable, a restarted server can never
 * reuse a generation it (or a peer it heard from) already used.
 *
 * Every change resolves only once it is durable in the store, and changes are applied one at a
 * time in call order, so concurrent callers always see distinct, increasing generations.
 * {@link GenerationClock.current} and {@link GenerationClock.votedFor} show only durable state.
 *
 * If the store fails to save, the clock fails stop: that call rejects with the store's error and
 * every later change with {@link GenerationClockFailedError}.
 */
export class GenerationClock {
  readonly #store: GenerationStore;
  #state: GenerationState;
  #tail: Promise<unknown> = Promise.resolve();
  #failure: { readonly error: unknown } | undefined;

  private constructor(store: GenerationStore, state: GenerationState) {
    this.#store = store;
    this.#state = state;
  }

  /**
   * Loads the clock from `store`; a store that was never saved starts at generation 0 with no vote.
   *
   * @throws whatever the store's `load` throws (for example a corrupt-file error)
   * @throws RangeError if the store returns an invalid generation
   */
  static async open(store: GenerationStore): Promise<GenerationClock> {
    const state = (await store.load()) ?? { generation: 0 };
    requireGeneration(state.generation, 'stored generation');
    return new GenerationClock(store, state);
  }

  /** The current (durable) generation. */
  get current(): number {
    return this.#state.generation;
  }

  /** Whom this server durably voted for in the current generation, if anyone. */
  get votedFor(): string | undefined {
    return this.#state.votedFor;
  }

  /** Whether the clock failed stop after a store error (see {@link GenerationClockFailedError}). */
  get failed(): boolean {
    return this.#failure !== undefined;
  }

  /**
   * Moves to a new generation, one above the current, and resolves with it once it is durable.
   * A generation resolved here is never resolved again, whatever crashes follow.
   *
   * @throws GenerationClockFailedError if the clock failed stop earlier
   * @throws RangeError if the generation would exceed `Number.MAX_SAFE_INTEGER`
   * @throws the store's error if saving fails (the clock then fails stop)
   */
  next(options: NextGenerationOptions = {}): Promise<number> {
    return this.#serialize(async () => {
      const generation = this.#state.generation + 1;
      requireGeneration(generation, 'next generation');
      await this.#persist(
        options.votedFor === undefined
          ? { generation }
          : { generation, votedFor: options.votedFor },
      );
      return generation;
    });
  }

  /**
   * Adopts `generation` if it is higher than the current one (clearing the vote), durably: call it
   * for every generation seen on a message. A server that adopts a higher generation steps down.
   *
   * @returns `true` if the generation was adopted, `false` if it was not higher
   * @throws RangeError if `generation` is not a non-negative safe integer
   * @throws GenerationClockFailedError if the clock failed stop earlier
   * @throws the store's error if saving fails (the clock then fails stop)
   */
  observe(generation: number): Promise<boolean> {
    return this.#serialize(async () => {
      requireGeneration(generation);
      if (generation <= this.#state.generation) return false;
      await this.#persist({ generation });
      return true;
    });
  }

  /**
   * Records a vote for `candidate` in `generation` durably, adopting that generation in the same
   * write if it is higher. A server votes at most once per generation: a second, different vote
   * in the same generation is refused, as is a vote in an older generation.
   *
   * @returns `true` if the vote is (now or already) recorded, `false` if refused
   * @throws RangeError if `generation` is not a non-negative safe integer
   * @throws GenerationClockFailedError if the clock failed stop earlier
   * @throws the store's error if saving fails (the clock then fails stop)
   */
  vote(candidate: string, generation: number): Promise<boolean> {
    return this.#serialize(async () => {
      requireGeneration(generation);
      const current = this.#state;
      if (generation < current.generation) return false;
      if (generation === current.generation && current.votedFor !== undefined) {
        return current.votedFor === candidate;
      }
      await this.#persist({ generation, votedFor: candidate });
      return true;
    });
  }

  /**
   * Durably records a state decided elsewhere, for example by a consensus core that outputs "the
   * generation and vote to persist" and leaves the I/O to its driver. Resolves at once, without a
   * write, if `state` equals the current state.
   *
   * @throws RangeError if `state` would move the generation backwards, or change or forget the
   *   vote already cast in the current generation: either would break this clock's guarantees,
   *   so it is a bug in the caller, and nothing is written
   * @throws GenerationClockFailedError if the clock failed stop earlier
   * @throws the store's error if saving fails (the clock then fails stop)
   */
  persist(state: GenerationState): Promise<void> {
    return this.#serialize(async () => {
      requireGeneration(state.generation);
      const current = this.#state;
      if (state.generation < current.generation) {
        throw new RangeError(
          `cannot move the generation back from ${current.generation} to ${state.generation}`,
        );
      }
      if (state.generation === current.generation && current.votedFor !== undefined) {
        if (state.votedFor === current.votedFor) {
          if (state.attachment !== undefined) await this.#persist(state);
          return;
        }
        throw new RangeError(
          `already voted for '${current.votedFor}' in generation ${current.generation}; cannot change the vote to ${
            state.votedFor === undefined ? 'none' : `'${state.votedFor}'`
          }`,
        );
      }
      const attachment = state.attachment === undefined ? {} : { attachment: state.attachment };
      if (
        state.generation === current.generation &&
        state.votedFor === undefined &&
        state.attachment === undefined
      ) {
        return;
      }
      await this.#persist(
        state.votedFor === undefined
          ? { generation: state.generation, ...attachment }
          : { generation: state.generation, votedFor: state.votedFor, ...attachment },
      );
    });
  }

  /**
   * Orders `generation` against the current one: negative if it is older (stale), zero if it is
   * the current generation, positive if it is newer (adopt it with {@link GenerationClock.observe}).
   */
  compare(generation: number): -1 | 0 | 1 {
    return compareGenerations(generation, this.#state.generation);
  }

  /** Whether `generation` is older than the current one: a message carrying it must be rejected. */
  isStale(generation: number): boolean {
    return generation < this.#state.generation;
  }

  /** Runs `change` after every earlier one, so each sees the state the previous one made durable. */
  #serialize<T>(change: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(() => {
      if (this.#failure !== undefined) throw new GenerationClockFailedError(this.#failure.error);
      return change();
    });
    this.#tail = result.catch(() => undefined);
    return result;
  }

  /** Saves `state`, carrying the current attachment forward unless `state` brings its own. */
  async #persist(next: GenerationState): Promise<void> {
    const attachment = next.attachment ?? this.#state.attachment;
    const state = attachment === undefined ? next : { ...next, attachment };
    try {
      await this.#store.save(state);
    } catch (error) {
      // Never retry and carry on: after a failed write or fsync, what is on disk is unknown.
      this.#failure = { error };
      throw error;
    }
    this.#state = state;
  }
}
