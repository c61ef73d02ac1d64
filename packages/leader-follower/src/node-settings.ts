import type { CoreOptions } from './core-types.js';
import { FileNodeStorage } from './file-node-storage.js';
import type { LeaderFollowerNodeOptions } from './node-options.js';
import type { Logger, NodeObserver } from './node-ports.js';
import type { NodeStorage } from './node-storage.js';
import type { RecoveredNode } from './node-recovery.js';
import type { PendingWorkLimits } from './pending-work-limits.js';

/** A node's options with every default filled in (see {@link LeaderFollowerNodeOptions}). */
export interface NodeSettings {
  readonly logger: Logger;
  readonly observer: NodeObserver;
  readonly tickMs: number;
  readonly maxCommandBytes: number;
  readonly proposalTimeoutMs: number;
  readonly readTimeoutMs: number;
  readonly snapshotEveryEntries: number;
  readonly snapshotEveryBytes: number;
  readonly retainEntriesAfterSnapshot: number;
  readonly payloadCacheBytes: number;
  readonly recordAcknowledgedEveryEntries: number;
  readonly pendingWork: PendingWorkLimits;
}

const DEFAULT_PAYLOAD_CACHE_BYTES = 16 * 1024 * 1024;
const DEFAULT_RECORD_ACKNOWLEDGED_EVERY_ENTRIES = 1024;
// Generous: far above what a benchmark's proposers keep in flight, low enough to bound memory.
const DEFAULT_MAX_PENDING_REQUESTS = 65_536;
const DEFAULT_MAX_UNCOMMITTED_BYTES = 256 * 1024 * 1024;

/** A logger that drops everything: libraries never print unless given a logger. */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/**
 * The options with their defaults.
 * @throws RangeError for a negative or NaN `payloadCacheBytes`, or a `snapshotEveryBytes` that
 *   is not positive.
 */
export function settingsOf(options: LeaderFollowerNodeOptions): NodeSettings {
  const payloadCacheBytes = options.payloadCacheBytes ?? DEFAULT_PAYLOAD_CACHE_BYTES;
  if (!(payloadCacheBytes >= 0)) {
    throw new RangeError(`payloadCacheBytes must be >= 0, got ${payloadCacheBytes}`);
  }
  const snapshotEveryBytes = options.snapshotEveryBytes ?? Number.POSITIVE_INFINITY;
  if (!(snapshotEveryBytes > 0)) {
    throw new RangeError(`snapshotEveryBytes must be > 0, got ${snapshotEveryBytes}`);
  }
  const tickMs = options.tickMs ?? 100;
  return {
    logger: options.logger ?? silentLogger,
    observer: options.observer ?? {},
    tickMs,
    maxCommandBytes: options.maxCommandBytes ?? 1024 * 1024,
    proposalTimeoutMs: options.proposalTimeoutMs ?? 5000,
    readTimeoutMs: options.readTimeoutMs ?? 5000,
    snapshotEveryEntries: options.snapshotEveryEntries ?? 10_000,
    snapshotEveryBytes,
    retainEntriesAfterSnapshot: options.retainEntriesAfterSnapshot ?? 1000,
    payloadCacheBytes,
    recordAcknowledgedEveryEntries:
      options.recordAcknowledgedEveryEntries ?? DEFAULT_RECORD_ACKNOWLEDGED_EVERY_ENTRIES,
    pendingWork: {
      maxPendingProposals: options.maxPendingProposals ?? DEFAULT_MAX_PENDING_REQUESTS,
      maxUncommittedBytes: options.maxUncommittedBytes ?? DEFAULT_MAX_UNCOMMITTED_BYTES,
      maxPendingReads: options.maxPendingReads ?? DEFAULT_MAX_PENDING_REQUESTS,
      // About an election timeout: time for a backlog to commit, or for leadership to settle.
      retryAfterMs: tickMs * (options.electionTimeoutTicks ?? 10),
    },
  };
}

/** The core's options: the node's tuning and what storage recovered. */
export function coreOptionsOf(
  options: LeaderFollowerNodeOptions,
  recovered: RecoveredNode,
): CoreOptions {
  return {
    storageId: recovered.memberState.storageId,
    peerStorageIds: recovered.memberState.peerStorageIds,
    id: options.id,
    members: options.members,
    ...(options.learners === undefined ? {} : { learners: options.learners }),
    random: options.random,
    hardState: recovered.hardState,
    entries: recovered.entries,
    appliedIndex: recovered.appliedIndex,
    ...(recovered.snapshot === undefined ? {} : { snapshot: recovered.snapshot.metadata }),
    advanceFirstElection: options.advanceFirstElection ?? true,
    ...definedOnly({
      electionTimeoutTicks: options.electionTimeoutTicks,
      heartbeatIntervalTicks: options.heartbeatIntervalTicks,
      failureDetector: options.failureDetector,
      onCoverage: options.onCoverage,
      maxInflightAppends: options.maxInflightAppends,
      maxAppendBytes: options.maxAppendBytes,
      snapshotChunkBytes: options.snapshotChunkBytes,
      promoteLagLimit: options.promoteLagLimit,
    }),
  };
}

/**
 * The node's storage: `options.storage`, or a {@link FileNodeStorage} in `dataDirectory`.
 * @throws TypeError when neither a storage nor a file system and a directory are given.
 */
export function storageOf(options: LeaderFollowerNodeOptions): NodeStorage {
  if (options.storage !== undefined) return options.storage;
  const { fileSystem, dataDirectory } = options;
  if (fileSystem === undefined || dataDirectory === undefined) {
    throw new TypeError('a node needs either storage or fileSystem and dataDirectory');
  }
  return new FileNodeStorage({
    id: options.id,
    fileSystem,
    dataDirectory,
    random: options.random,
    ...definedOnly({ logger: options.logger, wal: options.wal }),
  });
}

/** The properties whose value is not undefined (for options under exactOptionalPropertyTypes). */
function definedOnly<T extends Record<string, unknown>>(
  values: T,
): { [K in keyof T]?: Exclude<T[K], undefined> } {
  const defined: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(values)) if (value !== undefined) defined[key] = value;
  return defined as { [K in keyof T]?: Exclude<T[K], undefined> };
}
