export type { DirectoryLock, FileHandle, FileSystem, OpenMode } from './file-system.js';
export { LOCK_FILE_NAME, NodeFileSystem } from './node-file-system.js';
export { nodeClock, nodeTimers, nodeWallClock } from './node-clock.js';
export type { Clock, Logger, Timers, WallClock } from './ports.js';
export { WalClosedError, WalCorruptionError, WalFailedError, WalLockedError } from './errors.js';
export {
  WriteAheadLog,
  type DurabilityMode,
  type NewEntry,
  type WalEntry,
  type WriteAheadLogOptions,
} from './write-ahead-log.js';
export type { RecoveryReport } from './recover-log.js';
export {
  SnapshotCleaner,
  TimeBasedCleaner,
  type LogCleaner,
  type SegmentInfo,
  type SnapshotCleanerOptions,
  type TimeBasedCleanerOptions,
} from './log-cleaner.js';
export {
  startPeriodicCleaning,
  type CleanableLog,
  type PeriodicCleaningOptions,
} from './periodic-cleaning.js';
export { crc32c } from './crc32c.js';
export { FORMAT_VERSION } from './record-format.js';
