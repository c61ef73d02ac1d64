/** The per-request consistency levels of quorum mode, and how a request names one. */

/**
 * - `one`: W = 1, R = 1. Fast, may read stale values, a write acknowledged by one member is lost
 *   if that member's disk is.
 * - `quorum`: W and R (majorities unless overridden), last writer wins by timestamp, read repair
 *   in the background after answering.
 * - `linearizable`: ABD. A write learns the highest timestamp from R members, then writes above
 *   it to W; a read returns the newest of R only after it is on W (blocking read repair).
 */
export type ConsistencyLevel = 'one' | 'quorum' | 'linearizable';

/** Every level, in order of strength. */
export const CONSISTENCY_LEVELS: readonly ConsistencyLevel[] = ['one', 'quorum', 'linearizable'];

/** Whether `text` names a level. */
export function isConsistencyLevel(text: string): text is ConsistencyLevel {
  return (CONSISTENCY_LEVELS as readonly string[]).includes(text);
}
