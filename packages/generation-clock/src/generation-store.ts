import type { GenerationState } from './generation-state.js';

/**
 * Where a {@link GenerationClock} keeps its state. Implementations: {@link FileGenerationStore}
 * (durable, through a FileSystem port) and {@link InMemoryGenerationStore} (tests).
 */
export interface GenerationStore {
  /**
   * Reads the last saved state, recovering from an interrupted save if needed.
   *
   * @returns the state, or `undefined` if none was ever saved
   * @throws if the saved state is corrupt or cannot be read: a store never silently starts over,
   *   because restarting at a lower generation would let the past be accepted again
   */
  load(): Promise<GenerationState | undefined>;
  /**
   * Replaces the saved state atomically: after a crash, {@link GenerationStore.load} returns
   * either the previous state or this one, never a mix. Resolves only once the state is durable.
   *
   * @throws on an I/O error; the state on disk is then the previous one or this one
   */
  save(state: GenerationState): Promise<void>;
}
