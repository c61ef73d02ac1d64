/** A startup failure with a message for the operator (what failed and what to do). */
export class StartupError extends Error {
  /** @param message what failed and what to do. */
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}

/**
 * Where an operator learns to recover a member whose data directory lost what it acknowledged
 * (emptied, deleted, or damaged): it must not rejoin under its name with that data.
 */
export const LOST_DATA_RUNBOOK =
  'this member must not rejoin with this data directory; recover it by hand as described in ' +
  'docs/guides/operations.md, section "Runbook: a member that lost its data"';
