// @x/leader-follower: Leader election and log replication composed from the pattern packages, with Raft-grade safety.
export { LeaderFollowerCore } from './leader-follower-core.js';
export { SafetyViolationError } from './safety-violation-error.js';
export { InvariantViolation } from './invariant-violation.js';
export type { CoreInvariant } from './invariant-violation.js';
export type { ReplicationState } from './follower-progress.js';
export type {
  EntryKind,
  HardState,
  LogEntry,
  Snapshot,
  SnapshotData,
  SnapshotMetadata,
} from './log-entry.js';
export { commandBytesOf, isHollowEntry } from './log-entry.js';
export type {
  AppendRequest,
  AppendResponse,
  Heartbeat,
  HeartbeatResponse,
  MemberStorageId,
  Message,
  NodeId,
  OutboundMessage,
  SnapshotChunk,
  SnapshotResponse,
  StorageLost,
  TimeoutNow,
  VoteRequest,
  VoteResponse,
} from './messages.js';
export { DEFAULT_PHI_THRESHOLD } from './core-types.js';
export {
  changedConfiguration,
  clusterConfiguration,
  ConfigurationError,
  MAX_CONFIGURATION_MEMBERS,
} from './cluster-configuration.js';
export type {
  ClusterConfiguration,
  ConfigurationChange,
  ConfigurationProblem,
} from './cluster-configuration.js';
export type {
  ConfigurationChangeRefusal,
  ConfigurationChangeResult,
  CoreOptions,
  CoverageMark,
  FailureDetectorKind,
  CoreStatus,
  EntriesToLoad,
  FollowerStatus,
  LostAcknowledgedEntries,
  PeerStorageId,
  ProposalRefusal,
  ProposalResult,
  Random,
  ReadPermit,
  ReadRefusal,
  Ready,
  Role,
  SnapshotChunkToSend,
  SnapshotChunkToStore,
} from './core-types.js';
export { LeaderFollowerNode } from './leader-follower-node.js';
export type { LeaderFollowerNodeOptions, NodeFollowerStatus, NodeStatus } from './node-options.js';
export type { Clock, Logger, NodeObserver, StateMachine, Timers, Transport } from './node-ports.js';
export type {
  MemberStateChange,
  NodeStorage,
  PersistBatch,
  RecoveredNodeState,
  SnapshotReader,
  SnapshotToSave,
} from './node-storage.js';
export { FileNodeStorage } from './file-node-storage.js';
export type { FileNodeStorageOptions } from './file-node-storage.js';
export { MemoryNodeStorage } from './memory-node-storage.js';
export type { MemoryNodeStorageOptions } from './memory-node-storage.js';
export type { StorageLogger } from './storage-rules.js';
export { RecoveredTail } from './recovered-tail.js';
export type { RecoverOptions } from './recovered-tail.js';
export type { MemberState } from './member-state.js';
export {
  ConfigurationChangeRefusedError,
  IndeterminateOutcomeError,
  LeaderFollowerError,
  MemberStorageLostError,
  NoQuorumError,
  NodeStoppedError,
  NotLeaderError,
  ProposalDroppedError,
  ProposalTooLargeError,
  TooManyRequestsError,
} from './errors.js';
export type { PendingWorkBound, StorageLossKind } from './errors.js';
export { MemberStateCorruptError } from './member-state.js';
export {
  CONFIGURED_SNAPSHOT_CHUNK_TYPE,
  MAX_STORAGE_ID_BYTES,
  MESSAGE_TYPES,
  MessageDecodeError,
  decodeMessage,
  encodeMessage,
} from './message-codec.js';
export { SnapshotCorruptionError } from './snapshot-file.js';
export { seedDataDirectory } from './seed-data-directory.js';
export type { SeedSnapshot } from './seed-data-directory.js';
