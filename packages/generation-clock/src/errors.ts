/**
 * The generation file exists but does not hold a valid record (bad checksum, wrong length,
 * unknown format). The store refuses to guess: starting over at generation 0 would let a deposed
 * leader's old generation be accepted again. Restore the file from a replica or a backup.
 */
export class CorruptGenerationFileError extends Error {
  /** The path of the corrupt file. */
  readonly path: string;

  /**
   * @param path the file
   * @param reason what is wrong with it
   */
  constructor(path: string, reason: string) {
    super(`corrupt generation file ${path}: ${reason}`);
    this.name = 'CorruptGenerationFileError';
    this.path = path;
  }
}

/**
 * A {@link GenerationClock} whose store failed to save: it fails stop, rejecting every later
 * operation, because after a failed write or fsync it cannot know what is on disk (DESIGN.md §6).
 * Reopen the clock from its store (usually: restart the process).
 */
export class GenerationClockFailedError extends Error {
  /**
   * @param cause the error the store's save failed with
   */
  constructor(cause: unknown) {
    super('the generation clock failed stop after a save error; reopen it from its store', {
      cause,
    });
    this.name = 'GenerationClockFailedError';
  }
}
