// @x/quorum: majority math, quorum calls, read and write quorums, and read repair.
export { majority, toleratedFailures } from './majority.js';
export { QuorumTracker } from './quorum-tracker.js';
export { validateQuorumSizes } from './quorum-sizes.js';
export type { QuorumSizes } from './quorum-sizes.js';
export { QuorumConfigurationError } from './quorum-configuration-error.js';
export type { QuorumConfigurationProblem } from './quorum-configuration-error.js';
export { quorumCall } from './quorum-call.js';
export type { QuorumCallOptions } from './quorum-call.js';
export type { NodeFailure, NodeResponse, QuorumReport } from './quorum-report.js';
export { QuorumFailedError } from './quorum-failed-error.js';
export type { QuorumFailureReason } from './quorum-failed-error.js';
export type { Timers } from './timers.js';
export { nodeTimers } from './node-timers.js';
export { compareVersions, newer, nextVersion } from './version.js';
export type { Version, VersionComparator, Versioned } from './version.js';
export { pickNewest } from './pick-newest.js';
export type { NewestValue } from './pick-newest.js';
export type { ReplicaClient } from './replica-client.js';
export { quorumWrite } from './quorum-write.js';
export type { QuorumWriteOptions } from './quorum-write.js';
export { quorumRead } from './quorum-read.js';
export type {
  QuorumReadOptions,
  QuorumReadResult,
  ReadRepairMode,
  ReadRepairReport,
} from './quorum-read.js';
