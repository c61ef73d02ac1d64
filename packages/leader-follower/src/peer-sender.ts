import { isHollowEntry } from './log-entry.js';
import { encodeMessage } from './message-codec.js';
import type { AppendRequest, Message, NodeId, OutboundMessage } from './messages.js';
import type { Logger, Transport } from './node-ports.js';
import type { NodeStorage } from './node-storage.js';

/**
 * Sends the core's messages, in order per peer. An append carrying hollow entries (a follower
 * behind the payload window) is first refilled from storage; later messages to that peer wait in
 * its refill queue meanwhile, so the common path sends synchronously. A refill queue holds at
 * most `maxQueuedMessages`: past that, messages to the peer are dropped, as a lossy network
 * would drop them (the leader sends again after a timeout, and heartbeats are sent every tick).
 */
export class PeerSender {
  private readonly refillQueues = new Map<NodeId, OutboundMessage[]>();

  constructor(
    private readonly transport: Transport,
    private readonly storage: NodeStorage,
    private readonly logger: Logger,
    private readonly maxQueuedMessages: number,
    /** Whether the node stopped (then nothing more is sent). */
    private readonly stopped: () => boolean,
    /** Called with an I/O or corruption error from a refill (the node fails stop). */
    private readonly fail: (error: unknown) => void,
  ) {}

  /** Messages waiting behind refills, over every peer. */
  get queuedMessages(): number {
    let queued = 0;
    for (const queue of this.refillQueues.values()) queued += queue.length;
    return queued;
  }

  send(outbound: OutboundMessage): void {
    const queue = this.refillQueues.get(outbound.to);
    if (queue !== undefined) {
      if (queue.length >= this.maxQueuedMessages) {
        this.logger.debug({ to: outbound.to }, 'message dropped: refill queue full');
        return;
      }
      queue.push(outbound);
      return;
    }
    if (!carriesHollowEntries(outbound.message)) {
      this.sendEncoded(outbound);
      return;
    }
    this.refillQueues.set(outbound.to, [outbound]);
    this.drainRefillQueue(outbound.to).catch((error: unknown) => this.fail(error));
  }

  private sendEncoded(outbound: OutboundMessage): void {
    const { type, payload } = encodeMessage(outbound.message);
    this.transport.send(outbound.to, type, payload);
  }

  /** Sends a peer's queued messages in order, refilling hollow appends, then removes the queue. */
  private async drainRefillQueue(to: NodeId): Promise<void> {
    const queue = this.refillQueues.get(to);
    try {
      let outbound: OutboundMessage | undefined;
      while ((outbound = queue?.shift()) !== undefined) {
        if (this.stopped()) return;
        const message = outbound.message;
        if (message.kind !== 'append' || !carriesHollowEntries(message)) {
          this.sendEncoded(outbound);
          continue;
        }
        const filled = await this.refillAppend(message);
        if (this.stopped()) return;
        // No longer in the log: dropped, as a lossy network would; the leader retries or moves
        // the follower on to the snapshot.
        if (filled === undefined) {
          this.logger.debug({ to, prevIndex: message.prevIndex }, 'append dropped: not in the log');
          continue;
        }
        this.logger.debug({ to, prevIndex: message.prevIndex }, 'append refilled from the log');
        this.sendEncoded({ to, message: filled });
      }
    } finally {
      this.refillQueues.delete(to);
    }
  }

  /**
   * Reads the command bytes of an append's hollow entries back from storage. Resolves with the
   * complete append, or undefined when storage no longer holds those entries (released below a
   * snapshot, truncated or replaced meanwhile). Rejects on an I/O or corruption error.
   */
  private async refillAppend(request: AppendRequest): Promise<AppendRequest | undefined> {
    const entries = request.entries;
    const first = entries.findIndex(isHollowEntry);
    const last = entries.findLastIndex(isHollowEntry);
    const from = entries[first]?.index ?? 0;
    const to = entries[last]?.index ?? 0;
    const stored = await this.storage.readEntries(from, to);
    if (stored === undefined) return undefined;
    const filled = entries.slice();
    for (let position = first; position <= last; position++) {
      const entry = entries[position];
      if (entry === undefined || !isHollowEntry(entry)) continue;
      const record = stored[entry.index - from];
      if (record?.index !== entry.index || record.generation !== entry.generation) {
        return undefined;
      }
      if (record.command.length !== entry.hollowCommandBytes) {
        throw new Error(
          `entry ${entry.index} read back with ${record.command.length} bytes, expected ${entry.hollowCommandBytes}`,
        );
      }
      filled[position] = record;
    }
    return { ...request, entries: filled };
  }
}

function carriesHollowEntries(message: Message): boolean {
  return message.kind === 'append' && message.entries.some(isHollowEntry);
}
