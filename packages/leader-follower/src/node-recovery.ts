import type { LeaderFollowerNodeOptions } from './node-options.js';
import type { NodeStorage, RecoveredNodeState } from './node-storage.js';
import { settingsOf, storageOf } from './node-settings.js';
import { restoreStateMachine } from './restore-state-machine.js';

/**
 * Startup recovery: opens the node's storage (`options.storage`, or a `FileNodeStorage` in
 * `options.dataDirectory`), recovers what it holds, restores the state machine from the latest
 * snapshot (unless its own durable state is already there, see `durableAppliedIndex`) and hands storage and recovered state to `build`. Only the snapshot's metadata is kept
 * in memory: its bytes stay in storage.
 * @throws whatever `recover`, the restore or `build` throws; the storage is closed first, so a
 *   failed start leaves no abandoned log running (and failing) behind it.
 */
export async function recoverNode<Node>(
  options: LeaderFollowerNodeOptions,
  build: (storage: NodeStorage, recovered: RecoveredNodeState) => Node,
): Promise<Node> {
  const storage = storageOf(options);
  const recovered = await storage.recover();
  try {
    if (recovered.snapshot !== undefined) {
      const { logger } = settingsOf(options);
      const snapshotIndex = recovered.snapshot.metadata.index;
      // A state machine that kept its own state past the snapshot needs only the log after it.
      const durableIndex = options.stateMachine.durableAppliedIndex?.() ?? 0;
      if (durableIndex >= snapshotIndex) {
        logger.info(
          { snapshotIndex, durableIndex },
          'state machine holds the snapshot; not restored',
        );
      } else {
        await restoreStateMachine(options.stateMachine, recovered.snapshot, logger);
      }
    }
    return build(storage, recovered);
  } catch (error) {
    await storage.close().catch(() => undefined);
    throw error;
  } finally {
    await recovered.snapshot?.close();
  }
}
