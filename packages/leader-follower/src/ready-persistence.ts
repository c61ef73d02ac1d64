import type { Ready } from './core-types.js';
import type { Logger, StateMachine } from './node-ports.js';
import type { NodeStorage, PersistBatch, SnapshotReader } from './node-storage.js';
import { restoreStateMachine } from './restore-state-machine.js';

/** What {@link persistReady} writes to. */
export interface ReadyPersistenceDeps {
  readonly storage: NodeStorage;
  readonly stateMachine: StateMachine;
  readonly logger: Logger;
  /** True once the node stopped: a snapshot is then no longer restored. */
  stopped(): boolean;
}

/**
 * Hands a Ready's storage work to storage; log writes are issued now, in order (group commit).
 * An installed snapshot is restored into the state machine inside the storage's install, so
 * nothing later is applied before it. Resolves once all of it is durable; the caller keeps
 * Readies in order itself (`ReadyCompletions`) rather than counting on promise timing.
 */
export function persistReady(ready: Ready, deps: ReadyPersistenceDeps): Promise<void> {
  const install = ready.snapshotToInstall;
  // Built field by field: this runs once per Ready, and most Readies carry only entries.
  const batch: { -readonly [Field in keyof PersistBatch]: PersistBatch[Field] } = {
    snapshotChunks: ready.snapshotChunksToStore,
    entries: ready.entriesToPersist,
  };
  if (install !== undefined) {
    const restore = async (snapshot: SnapshotReader): Promise<void> => {
      if (deps.stopped()) return;
      await restoreStateMachine(deps.stateMachine, snapshot, deps.logger);
    };
    batch.snapshotToInstall = { metadata: install, restore };
  }
  if (ready.hardState !== undefined) batch.hardState = ready.hardState;
  return deps.storage.persist(batch);
}
