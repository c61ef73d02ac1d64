import { MemberStorageLostError } from './errors.js';
import type { Logger } from './node-ports.js';
import type { NodeStorage } from './node-storage.js';
import { SafetyViolationError } from './safety-violation-error.js';

/** Logs why a node fails stop (DESIGN.md §6), in the words its kind of failure needs. */
export function logFailStop(logger: Logger, error: unknown): void {
  if (error instanceof MemberStorageLostError) {
    logger.error(
      { error: error.message, reportedBy: error.reportedBy },
      'this member lost acknowledged state; stopping',
    );
  } else if (error instanceof SafetyViolationError) {
    // An invariant of the core or a safety rule broke: this server's state cannot be trusted.
    logger.error({ error: error.message }, 'safety violation; stopping');
  } else {
    logger.error({ error: String(error) }, 'storage failed; stopping');
  }
}

/**
 * Tells the node's owner that it failed stop, with the original `error`. A peer's report that this
 * member's storage was replaced is recorded in the storage first (the owner may exit at once), so
 * that no later start on this storage votes or acknowledges either, even when no peer that
 * remembers it is up.
 */
export function announceFailStop(
  failure: Error,
  error: unknown,
  deps: {
    readonly storage: NodeStorage;
    readonly logger: Logger;
    readonly onFatalError: ((error: unknown) => void) | undefined;
  },
): void {
  const { storage, logger, onFatalError } = deps;
  if (failure instanceof MemberStorageLostError && failure.kind === 'reported-by-peer') {
    void storage
      .recordMemberState({ lostReportedBy: failure.reportedBy ?? '?' })
      .catch((saveError: unknown) => {
        logger.error({ error: String(saveError) }, 'could not record the lost storage');
      })
      .then(() => onFatalError?.(error));
    return;
  }
  onFatalError?.(error);
}
