import type { LeaderFollowerCore } from './leader-follower-core.js';
import type { SnapshotMetadata } from './log-entry.js';
import type { StateMachine } from './node-ports.js';
import type { NodeSettings } from './node-settings.js';
import type { NodeStorage } from './node-storage.js';

/**
 * The low-water mark: takes a snapshot of the state machine once `snapshotEveryEntries` entries,
 * or entries holding `snapshotEveryBytes` command bytes, were applied since the last one, stores
 * it, tells the core, then releases the log below it (keeping `retainEntriesAfterSnapshot`
 * entries for followers slightly behind).
 */
export class SnapshotSchedule {
  private snapshotting = false;

  constructor(
    /** Index of the latest snapshot, taken here or installed from the leader. */
    private snapshotIndex: number,
    private readonly deps: {
      readonly core: LeaderFollowerCore;
      readonly storage: NodeStorage;
      readonly stateMachine: StateMachine;
      readonly settings: NodeSettings;
      stopped(): boolean;
      fail(error: unknown): void;
    },
    /** Command bytes of the entries applied since that snapshot (recovered ones included). */
    private bytesSinceSnapshot = 0,
  ) {}

  /** An entry holding `bytes` command bytes was applied. */
  applied(bytes: number): void {
    this.bytesSinceSnapshot += bytes;
  }

  /** A snapshot from the leader was installed (and the state machine restored from it). */
  installed(snapshot: SnapshotMetadata): void {
    this.snapshotIndex = snapshot.index;
    this.bytesSinceSnapshot = 0;
    const { logger, observer } = this.deps.settings;
    logger.info({ index: snapshot.index }, 'snapshot installed from leader');
    observer.snapshotSaved?.(snapshot.index, snapshot.sizeBytes, 'installed');
  }

  /**
   * Takes a snapshot if enough entries (or bytes) were applied through `appliedIndex` and none is
   * under way.
   */
  maybeSnapshot(appliedIndex: number): void {
    const { core, storage, stateMachine, settings } = this.deps;
    const { snapshotEveryEntries, snapshotEveryBytes, retainEntriesAfterSnapshot } = settings;
    const { logger, observer } = settings;
    if (this.snapshotting || appliedIndex <= this.snapshotIndex) return;
    const due =
      appliedIndex - this.snapshotIndex >= snapshotEveryEntries ||
      this.bytesSinceSnapshot >= snapshotEveryBytes;
    if (!due) return;
    const index = appliedIndex;
    const generation = core.generationAt(index);
    if (generation === undefined) return;
    const configuration = core.configurationAt(index);
    const snapshot = {
      index,
      generation,
      data: stateMachine.snapshot(),
      ...(configuration === undefined ? {} : { configuration }),
    };
    this.snapshotting = true;
    // Entries applied while it is saved count toward the next one.
    this.bytesSinceSnapshot = 0;
    void storage
      .saveSnapshot(snapshot)
      .then(async (metadata) => {
        this.snapshotting = false;
        if (this.deps.stopped()) return;
        this.snapshotIndex = index;
        core.snapshotTaken(metadata, retainEntriesAfterSnapshot);
        logger.info({ index, bytes: metadata.sizeBytes }, 'snapshot taken');
        observer.snapshotSaved?.(index, metadata.sizeBytes, 'taken');
        await storage.releaseBelow(Math.max(1, index - retainEntriesAfterSnapshot));
      })
      .catch((error: unknown) => this.deps.fail(error));
  }
}
