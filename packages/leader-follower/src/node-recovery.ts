import { MemberStorageLostError } from './errors.js';
import type { LeaderFollowerNodeOptions } from './node-options.js';
import type { NodeStorage, RecoveredNodeState } from './node-storage.js';
import { settingsOf, storageOf } from './node-settings.js';
import { restoreStateMachine } from './restore-state-machine.js';

/** What recovery hands the node: the stored state, and where the state machine stands. */
export interface RecoveredNode extends RecoveredNodeState {
  /**
   * The index through which the state machine holds the log: the snapshot's, or its durable
   * applied index when that is later (apply resumes after it).
   */
  readonly appliedIndex: number;
}

/**
 * Startup recovery: opens the node's storage (`options.storage`, or a `FileNodeStorage` in
 * `options.dataDirectory`), recovers what it holds, restores the state machine from the latest
 * snapshot (unless its own durable state is already there, see `durableAppliedIndex`) and hands
 * storage and recovered state to `build`. Only the snapshot's metadata is kept in memory: its
 * bytes stay in storage. Entries the state machine holds durably already (through its durable
 * applied index A) are recovered hollow, apart from the payload window, and apply resumes after
 * max(snapshot index, A).
 * @throws whatever `recover`, the restore or `build` throws; the storage is closed first, so a
 *   failed start leaves no abandoned log running (and failing) behind it.
 */
export async function recoverNode<Node>(
  options: LeaderFollowerNodeOptions,
  build: (storage: NodeStorage, recovered: RecoveredNode) => Node,
): Promise<Node> {
  const storage = storageOf(options);
  const { logger, payloadCacheBytes } = settingsOf(options);
  // A state machine that kept its own state needs only the log after its durable applied index.
  const durableIndex = options.stateMachine.durableAppliedIndex?.() ?? 0;
  const recovered = await storage.recover({
    appliedThrough: durableIndex,
    keepRecentBytes: payloadCacheBytes,
  });
  try {
    const snapshotIndex = recovered.snapshot?.metadata.index ?? 0;
    if (recovered.snapshot !== undefined) {
      if (durableIndex >= snapshotIndex) {
        logger.info(
          { snapshotIndex, durableIndex },
          'state machine holds the snapshot; not restored',
        );
      } else {
        await restoreStateMachine(options.stateMachine, recovered.snapshot, logger);
      }
    }
    const lastIndex = recovered.entries.at(-1)?.index ?? snapshotIndex;
    if (durableIndex > lastIndex) {
      // The state machine applied entries this log no longer holds: the log lost committed
      // entries. Starting would hand out a log that ends before what was applied.
      throw new MemberStorageLostError(
        options.id,
        'log-shorter-than-applied',
        `the state machine holds entries through ${durableIndex} durably, but the log ends at entry ${lastIndex} (snapshot ${snapshotIndex})`,
      );
    }
    return build(storage, { ...recovered, appliedIndex: Math.max(snapshotIndex, durableIndex) });
  } catch (error) {
    await storage.close().catch(() => undefined);
    throw error;
  } finally {
    await recovered.snapshot?.close();
  }
}
