import type { Ready } from './core-types.js';
import type { NodeId } from './messages.js';
import type { Logger, NodeObserver } from './node-ports.js';
import type { MemberStateChange, NodeStorage } from './node-storage.js';

/**
 * Keeps the member state beside the vote up to date (see the README: a forgetful member): the
 * index this member acknowledged, recorded each time it moved `everyEntries` entries and with every
 * generation or vote change, and peers' storage identities the first time they are seen.
 */
export class MemberRecords {
  /** The highest acknowledged index handed to storage to record. */
  private acknowledgedIndexRequested = 0;

  constructor(
    private readonly storage: NodeStorage,
    private readonly logger: Logger,
    private readonly observer: NodeObserver,
    private readonly everyEntries: number,
    /** Called when a record fails (the node fails stop). */
    private readonly fail: (error: unknown) => void,
  ) {}

  /** Records the acknowledged index once it moved `everyEntries` entries since the last record. */
  acknowledged(acknowledgedIndex: number): void {
    if (
      acknowledgedIndex - this.storage.memberState.acknowledgedIndex >= this.everyEntries &&
      acknowledgedIndex > this.acknowledgedIndexRequested
    ) {
      this.record({ acknowledgedIndex });
    }
  }

  /** A generation or vote change is being written: the acknowledged index rides on it. */
  hardStateChanged(acknowledgedIndex: number): void {
    this.record({ acknowledgedIndex });
  }

  /** Remembers peers' identities seen for the first time and reports forgetful followers. */
  noteMembers(ready: Ready): void {
    if (ready.peerStorageIdsLearned.length > 0) {
      const learned = new Map<NodeId, string>();
      for (const { member, storageId } of ready.peerStorageIdsLearned) {
        learned.set(member, storageId);
        this.logger.info({ member, storageId }, 'peer storage identity recorded');
      }
      this.record({ peerStorageIdsLearned: learned });
    }
    for (const lost of ready.lostAcknowledgedEntries) {
      this.logger.error(
        { ...lost },
        'follower lost acknowledged entries; it is not counted for quorum while this node leads',
      );
      this.observer.lostAcknowledgedEntries?.(lost.member, lost.acknowledgedIndex);
    }
  }

  private record(change: MemberStateChange): void {
    if (change.acknowledgedIndex !== undefined) {
      this.acknowledgedIndexRequested = Math.max(
        this.acknowledgedIndexRequested,
        change.acknowledgedIndex,
      );
    }
    this.storage.recordMemberState(change).catch((error: unknown) => this.fail(error));
  }
}
