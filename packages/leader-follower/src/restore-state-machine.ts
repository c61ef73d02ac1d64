import type { Logger, StateMachine } from './node-ports.js';
import type { SnapshotReader } from './node-storage.js';

/**
 * Restores the state machine from a stored snapshot: streamed in chunks when it can take them,
 * else read whole. Either way the checksum has been verified when this resolves.
 * @throws SnapshotCorruptionError when the checksum does not match; Error when the state machine
 *   stopped reading its chunks before the end (the checksum was then never checked).
 */
export async function restoreStateMachine(
  stateMachine: StateMachine,
  stored: SnapshotReader,
  logger: Logger,
): Promise<void> {
  const index = stored.metadata.index;
  if (stateMachine.restoreChunks === undefined) {
    stateMachine.restore(await stored.readAll(), index);
    return;
  }
  await stateMachine.restoreChunks(stored.chunks(), index);
  if (!stored.verified) {
    throw new Error(`the state machine did not read snapshot ${index} to its end`);
  }
  logger.debug({ index, bytes: stored.metadata.sizeBytes }, 'snapshot restored in chunks');
}
