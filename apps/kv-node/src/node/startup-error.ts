/** A startup failure with a message for the operator (what failed and what to do). */
export class StartupError extends Error {
  /** @param message what failed and what to do. */
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}
