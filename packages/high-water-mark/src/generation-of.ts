/**
 * Returns the generation (epoch, Raft term) stored with the log entry at `index`.
 *
 * Called by {@link LeaderHighWaterMark} only with indexes that some member has acknowledged, which
 * are always present in the leader's log. Generations in a log never decrease as the index grows;
 * the tracker relies on that.
 */
export type GenerationOf = (index: number) => number;
