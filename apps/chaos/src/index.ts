// @x/chaos: real-process fault testing of a kv-node cluster with linearizability checking.
export type { ChaosResult } from './chaos-result.js';
export type { CheckReport } from './checks.js';
export {
  checkLinearizable,
  checkNoFailedWriteVisible,
  checkNoUnexpectedExit,
  checkPoisonAnswered,
  checkSetReads,
  checkStateHashes,
  checkWriteAfterHeal,
  stateHash,
} from './checks.js';
export type {
  ClusterMember,
  ClusterView,
  EtcdJsonClientOptions,
  KeyValue,
  RangeOptions,
} from './etcd-json-client.js';
export { EtcdJsonClient } from './etcd-json-client.js';
export type { KvClusterOptions, KvNodeSpec, WallClockFault } from './kv-cluster.js';
export { faketimeAvailable, KvCluster, killEverySpawnedNode, nodePaths } from './kv-cluster.js';
export { isDefiniteFailure, KvRequestError } from './kv-request-error.js';
// The peer-link proxy lives in kv-node (its local cluster partitions through it too).
export type {
  LinkProxyOptions,
  LinkProxyStatistics,
  LinkRule,
  ProxyTarget,
  SocketAddress,
} from '@x/kv-node/link-proxy';
export { describeRule, LinkProxy, passRule } from '@x/kv-node/link-proxy';
export type { Availability, FaultMeasure, FaultWindow } from './measures.js';
export type { ElectionCount, LeaderElection } from './leader-elections.js';
export { countFalseSuspicions, parseLeaderElections } from './leader-elections.js';
export type {
  DetectorAbOptions,
  DetectorAbResult,
  DetectorAbRun,
  DetectorArm,
  DetectorKind,
} from './detector-ab.js';
export {
  armOrder,
  formatDetectorAb,
  runDetectorAb,
  summarizeArm,
  summarizeRun,
} from './detector-ab.js';
export {
  availability,
  failoverTimes,
  faultMeasures,
  majoritySideAvailability,
  percentile,
} from './measures.js';
export type {
  Fault,
  FaultKind,
  NemesisSchedule,
  NodeSelector,
  PartitionShape,
  ScheduledFault,
  ScheduleOptions,
} from './nemesis-schedule.js';
export {
  allFaultKinds,
  knownFaultKinds,
  membershipFaultKinds,
  safetyFaultKinds,
  blockedLinks,
  describeFault,
  faultDurationMs,
  generateSchedule,
  largestMinority,
  selectNodes,
} from './nemesis-schedule.js';
export type { OperationSample } from './operation-sample.js';
export type { PoisonKind, PoisonRequest } from './poison-requests.js';
export {
  allPoisonKinds,
  defaultPoisonKinds,
  poisonKindsNeedingAdmission,
  poisonRequests,
} from './poison-requests.js';
export type {
  PoisonAnswer,
  PoisonCounts,
  PoisonOutcome,
  PoisonResult,
  PoisonWorkloadOptions,
} from './poison-workload.js';
export { classify as classifyPoisonAnswer, runPoisonWorkload } from './poison-workload.js';
export {
  DataFilesystem,
  dataFilesystemAvailable,
  defaultDataFilesystemBytes,
} from './data-filesystem.js';
export type { RegisterWatcherOptions } from './register-watcher.js';
export { RegisterWatcher } from './register-watcher.js';
export type { RegisterWorkloadOptions, RegisterWorkloadResult } from './register-workload.js';
export { runRegisterWorkload } from './register-workload.js';
export type { ChaosOptions, PeerRouting } from './run-chaos.js';
export { runChaos } from './run-chaos.js';
export type { Random } from './seeded-random.js';
export { freshSeed, SeededRandom } from './seeded-random.js';
export type { SetWorkloadOptions, SetWorkloadResult } from './set-workload.js';
export type { StateBackend } from './state-backend.js';
export { isStateBackend, stateBackendArgs, stateBackends } from './state-backend.js';
export { runSetWorkload } from './set-workload.js';
export { formatSummary } from './summary-table.js';
export type { ObservedWatchEvent, RegisterWrite, WatchCoverage } from './watch-check.js';
export {
  checkWatchInOrder,
  checkWatchNoGap,
  checkWatchNoPhantom,
  checkWatchStream,
} from './watch-check.js';
