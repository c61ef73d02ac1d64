import type { GenerationState } from './generation-state.js';
import type { GenerationStore } from './generation-store.js';

/**
 * A {@link GenerationStore} in memory, for tests and single-process simulations: "durable" for as
 * long as the object lives. Keeps a count of saves so a test can check what was written.
 */
export class InMemoryGenerationStore implements GenerationStore {
  #state: GenerationState | undefined;
  #saves = 0;

  /** @param initial the state to start from, as if saved earlier; none by default. */
  constructor(initial?: GenerationState) {
    this.#state = initial === undefined ? undefined : { ...initial };
  }

  /** How many times {@link InMemoryGenerationStore.save} was called. */
  get saves(): number {
    return this.#saves;
  }

  /** The saved state (a copy), or `undefined`. */
  load(): Promise<GenerationState | undefined> {
    return Promise.resolve(this.#state === undefined ? undefined : { ...this.#state });
  }

  /** Replaces the saved state with a copy of `state`. */
  save(state: GenerationState): Promise<void> {
    this.#state = { ...state };
    this.#saves += 1;
    return Promise.resolve();
  }
}
