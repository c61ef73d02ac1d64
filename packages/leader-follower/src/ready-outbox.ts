import { AppendLoads } from './append-loads.js';
import type { HardState, LogEntry, SnapshotMetadata } from './log-entry.js';
import type { Message, NodeId, OutboundMessage } from './messages.js';
import type { ReplicaState } from './replica-state.js';
import type {
  EntriesToLoad,
  LostAcknowledgedEntries,
  PeerStorageId,
  ReadPermit,
  ReadRefusal,
  Ready,
  Role,
  SnapshotChunkToSend,
  SnapshotChunkToStore,
} from './core-types.js';

/**
 * The core's outputs, collected by its role parts until the driver calls `takeReady` (etcd's
 * Ready hand-off): messages, snapshot chunks, reads answered, what to persist and what to apply.
 * It remembers what it handed out already: the hard state, the entries to persist, the entries
 * to apply.
 */
export class ReadyOutbox {
  /** The hard state last handed out to be persisted. */
  private persistedHardState: HardState;
  /** Highest log index handed out to be persisted. */
  handedOutIndex: number;
  /** Highest log index handed out to be applied. */
  applyCursor: number;
  snapshotToInstall: SnapshotMetadata | undefined;
  readonly snapshotChunksToStore: SnapshotChunkToStore[] = [];
  readonly snapshotChunksToSend: SnapshotChunkToSend[] = [];
  readonly readsPermitted: ReadPermit[] = [];
  readonly readsRefused: ReadRefusal[] = [];
  readonly peerStorageIdsLearned: PeerStorageId[] = [];
  readonly lostAcknowledgedEntries: LostAcknowledgedEntries[] = [];
  /** Set once when a committed configuration removed this server (see `Ready.removedFromCluster`). */
  removedFromCluster = false;
  private readonly messagesToSendNow: OutboundMessage[] = [];
  private readonly messagesAfterPersist: OutboundMessage[] = [];
  /** A leader's appends waiting for entries the driver loads (see {@link AppendLoads}). */
  private readonly appendLoads = new AppendLoads();

  constructor(hardState: HardState, replica: ReplicaState) {
    this.persistedHardState = hardState;
    this.handedOutIndex = replica.log.lastIndex;
    this.applyCursor = replica.appliedIndex;
  }

  /**
   * Queues a message. A leader's messages depend on nothing unpersisted except its own new
   * entries, which followers may store first; everything else waits for the Ready to be durable.
   */
  send(role: Role, to: NodeId, message: Message): void {
    if (role === 'leader') this.appendLoads.route(to, message, this.emitNow);
    else this.messagesAfterPersist.push({ to, message });
  }

  /** The driver's answer to an {@link EntriesToLoad} (see `AppendLoads.answered`). */
  entriesLoaded(role: Role, load: EntriesToLoad, loaded: readonly LogEntry[] | undefined): void {
    this.appendLoads.answered(
      load,
      loaded,
      role === 'leader'
        ? this.emitNow
        : (to, message) => this.messagesAfterPersist.push({ to, message }),
    );
  }

  private readonly emitNow = (to: NodeId, message: Message): void => {
    this.messagesToSendNow.push({ to, message });
  };

  /** Queues a message that may leave before anything is persisted (it carries no vote or entry). */
  sendNow(to: NodeId, message: Message): void {
    this.messagesToSendNow.push({ to, message });
  }

  /** Whether `hardState` differs from the one last handed out. */
  hardStateChanged(hardState: HardState): boolean {
    return (
      this.persistedHardState.generation !== hardState.generation ||
      this.persistedHardState.votedFor !== hardState.votedFor
    );
  }

  /** True when {@link take} would hand out anything. */
  hasOutput(hardState: HardState, replica: ReplicaState): boolean {
    return (
      this.hardStateChanged(hardState) ||
      this.handedOutIndex < replica.log.lastIndex ||
      this.snapshotToInstall !== undefined ||
      this.snapshotChunksToStore.length > 0 ||
      this.snapshotChunksToSend.length > 0 ||
      this.appendLoads.requested.length > 0 ||
      this.messagesToSendNow.length > 0 ||
      this.messagesAfterPersist.length > 0 ||
      this.applyCursor < replica.highWaterMark ||
      this.readsPermitted.length > 0 ||
      this.readsRefused.length > 0 ||
      this.peerStorageIdsLearned.length > 0 ||
      this.lostAcknowledgedEntries.length > 0 ||
      this.removedFromCluster
    );
  }

  /** The log was truncated after `index`: entries past it must be handed out again. */
  truncatedAfter(index: number): void {
    if (this.handedOutIndex > index) this.handedOutIndex = index;
  }

  /** Drains everything the driver must do now; see {@link Ready} for the order. */
  take(current: HardState, replica: ReplicaState): Ready {
    const log = replica.log;
    let hardState: HardState | undefined;
    if (this.hardStateChanged(current)) {
      hardState = { generation: current.generation, votedFor: current.votedFor };
      this.persistedHardState = hardState;
    }
    const entriesToPersist =
      this.handedOutIndex < log.lastIndex ? log.slice(this.handedOutIndex + 1, log.lastIndex) : [];
    this.handedOutIndex = log.lastIndex;

    let messagesToSendNow = this.messagesToSendNow.splice(0);
    let messagesAfterPersist = this.messagesAfterPersist.splice(0);
    if (hardState !== undefined && messagesToSendNow.length > 0) {
      // Nothing may leave before a new generation or vote is durable (rule 1).
      messagesAfterPersist = messagesToSendNow.concat(messagesAfterPersist);
      messagesToSendNow = [];
    }
    if (this.applyCursor < replica.highWaterMark && log.hollowThrough > this.applyCursor) {
      // Payloads are only dropped once applied: a hollow entry to apply is a bug, so stop.
      throw new Error(
        `entry ${this.applyCursor + 1} is hollow but not applied (payloads dropped through ${log.hollowThrough})`,
      );
    }
    const committedEntries: LogEntry[] =
      this.applyCursor < replica.highWaterMark
        ? log.slice(this.applyCursor + 1, replica.highWaterMark)
        : [];
    const last = committedEntries[committedEntries.length - 1];
    if (last !== undefined) this.applyCursor = last.index;
    const ready: Ready = {
      hardState,
      entriesToPersist,
      snapshotChunksToStore: this.snapshotChunksToStore.splice(0),
      snapshotToInstall: this.snapshotToInstall,
      snapshotChunksToSend: this.snapshotChunksToSend.splice(0),
      entriesToLoad: this.appendLoads.requested.splice(0),
      messagesToSendNow,
      messagesAfterPersist,
      committedEntries,
      readsPermitted: this.readsPermitted.splice(0),
      readsRefused: this.readsRefused.splice(0),
      peerStorageIdsLearned: this.peerStorageIdsLearned.splice(0),
      lostAcknowledgedEntries: this.lostAcknowledgedEntries.splice(0),
      removedFromCluster: this.removedFromCluster,
    };
    this.snapshotToInstall = undefined;
    this.removedFromCluster = false;
    return ready;
  }
}
