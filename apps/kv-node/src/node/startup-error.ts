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
 * (emptied, deleted, or damaged): it must not rejoin under its name with that data; it is removed
 * and added again as a new member (the runbook's anchor, see `REPLACE_MEMBER_RUNBOOK`).
 */
export const LOST_DATA_RUNBOOK =
  'this member must not rejoin with this data directory: remove it from the cluster and add it ' +
  'again as a new member with an empty data directory, as docs/guides/operations.md#replace-a-member ' +
  'describes';
