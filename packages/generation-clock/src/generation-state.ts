/**
 * What a generation store persists: the generation and, optionally, the vote cast in it. They are
 * saved together in one atomic write because an election needs both: a server that forgot its
 * vote after a crash could vote twice in one generation and let two leaders be elected.
 */
export interface GenerationState {
  /** The generation (epoch, term): a non-negative safe integer. */
  readonly generation: number;
  /** The candidate this server voted for in `generation`, if it voted. */
  readonly votedFor?: string;
}

/** Throws a RangeError unless `generation` is a non-negative safe integer. */
export function requireGeneration(generation: number, name = 'generation'): void {
  if (!(Number.isSafeInteger(generation) && generation >= 0)) {
    throw new RangeError(`${name} must be a non-negative safe integer, got ${String(generation)}`);
  }
}
