import type { Ready } from './core-types.js';
import type { Clock, Logger, NodeObserver, StateMachine } from './node-ports.js';
import type { NodeStorage, SnapshotReader } from './node-storage.js';
import { restoreStateMachine } from './restore-state-machine.js';

/** What {@link persistReady} writes to and reports to. */
export interface ReadyPersistenceDeps {
  readonly storage: NodeStorage;
  readonly stateMachine: StateMachine;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly observer: NodeObserver;
  /** True once the node stopped: a snapshot is then no longer restored. */
  stopped(): boolean;
}

/**
 * Hands a Ready's storage work to storage; log writes are issued now, in order (group commit).
 * An installed snapshot is restored into the state machine inside the storage's install, so
 * nothing later is applied before it. Resolves once all of it is durable (after the observer
 * heard how long the log sync took).
 */
export function persistReady(ready: Ready, deps: ReadyPersistenceDeps): Promise<void> {
  const { storage, stateMachine, clock, logger, observer } = deps;
  const install = ready.snapshotToInstall;
  const entries = ready.entriesToPersist;
  const started = entries.length > 0 ? clock.now() : 0;
  const restore = async (snapshot: SnapshotReader): Promise<void> => {
    if (deps.stopped()) return;
    await restoreStateMachine(stateMachine, snapshot, logger);
  };
  const durable = storage.persist({
    snapshotChunks: ready.snapshotChunksToStore,
    ...(install === undefined ? {} : { snapshotToInstall: { metadata: install, restore } }),
    ...(ready.hardState === undefined ? {} : { hardState: ready.hardState }),
    entries,
  });
  if (entries.length === 0 || observer.logSynced === undefined) return durable;
  return durable.then(() => {
    observer.logSynced?.(entries.length, clock.now() - started);
  });
}
