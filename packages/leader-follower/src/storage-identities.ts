import { MemberStorageLostError } from './errors.js';
import type { Heartbeat, MemberStorageId, Message, NodeId, StorageLost } from './messages.js';
import type { ReadyOutbox } from './ready-outbox.js';

/**
 * Storage identities (DESIGN.md §6, a forgetful member): this member's own, carried on its votes
 * and answers, and the ones it remembers for its peers.
 */
export class StorageIdentities {
  private readonly remembered: Map<NodeId, string>;

  constructor(
    private readonly id: NodeId,
    /** This member's storage identity; undefined: none is sent and none is checked. */
    readonly storageId: string | undefined,
    remembered: ReadonlyMap<NodeId, string> | undefined,
    private readonly isPeer: (member: NodeId) => boolean,
    private readonly outbox: ReadyOutbox,
  ) {
    this.remembered = new Map(remembered ?? []);
  }

  /** Whether identities are checked at all. */
  get checked(): boolean {
    return this.storageId !== undefined;
  }

  /** This server's storage identity as a message field (absent when it uses none). */
  field(): { storageId?: string } {
    return this.storageId === undefined ? {} : { storageId: this.storageId };
  }

  /** The identities a leader shares on heartbeats: its own and those it remembers. */
  table(): { storageIds?: MemberStorageId[] } {
    if (this.storageId === undefined) return {};
    const storageIds: MemberStorageId[] = [{ member: this.id, storageId: this.storageId }];
    for (const [member, storageId] of this.remembered) storageIds.push({ member, storageId });
    return { storageIds };
  }

  /**
   * A message showing a peer's identity other than the one remembered is answered with
   * `storage-lost` and otherwise ignored (its vote or acknowledgement never counts); a
   * `storage-lost` naming our identity stops this server; an identity seen for the first time is
   * remembered (the driver persists it). Returns whether the message may be handled.
   * @throws MemberStorageLostError when a peer reports that this server's storage was replaced.
   */
  check(from: NodeId, message: Message, generation: number): boolean {
    if (message.kind === 'storage-lost') {
      if (message.storageId === this.storageId) {
        throw new MemberStorageLostError(
          this.id,
          'reported-by-peer',
          `${from} remembers this member with storage ${message.rememberedStorageId}, but this storage is ${message.storageId}: it was created after the member had voted or acknowledged entries`,
          from,
        );
      }
      return false;
    }
    if (
      (message.kind !== 'vote-request' &&
        message.kind !== 'vote-response' &&
        message.kind !== 'append-response' &&
        message.kind !== 'heartbeat-response') ||
      message.storageId === undefined
    ) {
      return true;
    }
    const remembered = this.remembered.get(from);
    if (remembered === undefined) {
      this.remember(from, message.storageId);
      return true;
    }
    if (remembered === message.storageId) return true;
    const lost: StorageLost = {
      kind: 'storage-lost',
      generation,
      storageId: message.storageId,
      rememberedStorageId: remembered,
    };
    // Nothing of ours needs to be durable first: it carries no vote and no entry.
    this.outbox.sendNow(from, lost);
    return false;
  }

  /** Learns the identities a leader shared on a heartbeat, for members not known yet. */
  learnFrom(heartbeat: Heartbeat): void {
    if (this.storageId === undefined) return;
    for (const { member, storageId } of heartbeat.storageIds ?? []) {
      // Only members not known yet: what this server saw itself is never overwritten.
      if (member === this.id || !this.isPeer(member)) continue;
      if (this.remembered.has(member)) continue;
      this.remember(member, storageId);
    }
  }

  private remember(member: NodeId, storageId: string): void {
    this.remembered.set(member, storageId);
    this.outbox.peerStorageIdsLearned.push({ member, storageId });
  }
}
