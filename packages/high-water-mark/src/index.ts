// @x/high-water-mark: which log entries may be seen. The leader's high-water mark, the follower's
// applicable index, and the Request Waiting List.
export { LeaderHighWaterMark } from './leader-high-water-mark.js';
export type { LeaderHighWaterMarkOptions } from './leader-high-water-mark.js';
export { FollowerHighWaterMark } from './follower-high-water-mark.js';
export type { GenerationOf } from './generation-of.js';
export { RequestWaitingList } from './request-waiting-list.js';
export type { ResultForArgument } from './request-waiting-list.js';
export { RequestAbandonedError } from './request-abandoned-error.js';
export type { RequestOutcome } from './request-abandoned-error.js';
