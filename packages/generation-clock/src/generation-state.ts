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
  /**
   * Bytes the store's owner keeps atomically with the generation and vote (at most
   * {@link maxAttachmentBytes}): for example what a consensus member has durably acknowledged and
   * the identity of its storage, which must never be older than the vote beside them. The clock
   * itself never reads them; {@link FileGenerationStore} writes them with the same checksum.
   */
  readonly attachment?: Uint8Array;
}

/** The largest {@link GenerationState.attachment}, in bytes (64 KiB). */
export const maxAttachmentBytes = 64 * 1024;

/** Throws a RangeError unless `generation` is a non-negative safe integer. */
export function requireGeneration(generation: number, name = 'generation'): void {
  if (!(Number.isSafeInteger(generation) && generation >= 0)) {
    throw new RangeError(`${name} must be a non-negative safe integer, got ${String(generation)}`);
  }
}
