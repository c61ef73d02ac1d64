import { compareGenerations } from './compare-generations.js';
import type { GenerationState } from './generation-state.js';
import { requireGeneration } from './generation-state.js';

/**
 * The rules of a {@link GenerationClock}, kept in memory and changed synchronously: the
 * generation never moves back, a new generation clears the vote, and at most one vote is cast
 * per generation. For a deterministic consensus core with no I/O (etcd-io/raft's design) that
 * decides the generation and vote and hands them to its driver to persist (for example with
 * {@link GenerationClock.persist}) before anything that depends on them leaves the server.
 *
 * It does not make anything durable; a server restarts it from the durable state it recovered.
 */
export class VolatileGenerationClock {
  #generation: number;
  #votedFor: string | undefined;

  /**
   * Starts at `state` (the durable generation and vote recovered at start; default generation 0
   * with no vote).
   * @throws RangeError if the generation is not a non-negative safe integer
   */
  constructor(state: GenerationState = { generation: 0 }) {
    requireGeneration(state.generation);
    this.#generation = state.generation;
    this.#votedFor = state.votedFor;
  }

  /** The current generation. */
  get current(): number {
    return this.#generation;
  }

  /** Whom this server voted for in the current generation, if anyone. */
  get votedFor(): string | undefined {
    return this.#votedFor;
  }

  /** The generation and vote, as a store would save them. */
  get state(): GenerationState {
    return this.#votedFor === undefined
      ? { generation: this.#generation }
      : { generation: this.#generation, votedFor: this.#votedFor };
  }

  /**
   * Moves to the next generation (a candidate's election), voting for `votedFor` in it if given.
   * @returns the new generation
   * @throws RangeError if the generation would exceed `Number.MAX_SAFE_INTEGER`
   */
  next(votedFor?: string): number {
    const generation = this.#generation + 1;
    requireGeneration(generation, 'next generation');
    this.#generation = generation;
    this.#votedFor = votedFor;
    return generation;
  }

  /**
   * Adopts `generation` if it is higher than the current one, clearing the vote.
   * @returns whether it was adopted
   * @throws RangeError if `generation` is not a non-negative safe integer
   */
  observe(generation: number): boolean {
    requireGeneration(generation);
    if (generation <= this.#generation) return false;
    this.#generation = generation;
    this.#votedFor = undefined;
    return true;
  }

  /**
   * Votes for `candidate` in the current generation. At most one vote per generation: a second,
   * different vote is refused.
   * @returns `true` if the vote is (now or already) recorded, `false` if refused
   */
  vote(candidate: string): boolean {
    if (this.#votedFor !== undefined) return this.#votedFor === candidate;
    this.#votedFor = candidate;
    return true;
  }

  /** Orders `generation` against the current one (see {@link compareGenerations}). */
  compare(generation: number): -1 | 0 | 1 {
    return compareGenerations(generation, this.#generation);
  }

  /** Whether `generation` is older than the current one: a message carrying it must be rejected. */
  isStale(generation: number): boolean {
    return generation < this.#generation;
  }
}
