import type { EntriesToLoad, SnapshotChunkToSend } from './core-types.js';
import type { LogEntry } from './log-entry.js';
import { encodeMessage, MESSAGE_TYPES } from './message-codec.js';
import type { AppendRequest, OutboundMessage } from './messages.js';
import type { Logger, Transport } from './node-ports.js';
import type { NodeStorage } from './node-storage.js';

/** What {@link PeerMessages} needs from the node it sends for. */
export interface PeerMessagesHost {
  readonly transport: Transport;
  readonly storage: NodeStorage;
  readonly logger: Logger;
  /** Whether the node stopped (then nothing more is sent). */
  stopped(): boolean;
  /** Hands the core the entries it asked to load (then the node flushes). */
  entriesLoaded(load: EntriesToLoad, entries: readonly LogEntry[] | undefined): void;
  /** A storage read failed: the node fails stop. */
  fail(error: unknown): void;
}

/** An append and the payload it was encoded to. */
interface EncodedAppend {
  readonly message: AppendRequest;
  readonly payload: Uint8Array;
}

/**
 * Whether two appends encode to the same bytes: the same header fields and the same entry objects
 * (the leader's log hands out its own entries, never copies, so equal objects mean equal bytes).
 */
function sameAppend(a: AppendRequest, b: AppendRequest): boolean {
  if (
    a.generation !== b.generation ||
    a.prevIndex !== b.prevIndex ||
    a.prevGeneration !== b.prevGeneration ||
    a.highWaterMark !== b.highWaterMark ||
    a.entries.length !== b.entries.length
  ) {
    return false;
  }
  for (let i = 0; i < a.entries.length; i++) if (a.entries[i] !== b.entries[i]) return false;
  return true;
}

/**
 * The node's side of the core's messages: encodes and sends them, and serves what the core asks
 * to read from storage for them (snapshot chunks, entries whose bytes left memory).
 */
export class PeerMessages {
  constructor(private readonly host: PeerMessagesHost) {}

  send(outbound: OutboundMessage): void {
    const { type, payload } = encodeMessage(outbound.message);
    this.host.transport.send(outbound.to, type, payload);
  }

  /**
   * Sends a Ready's messages in order. An append that goes alike to several followers (the usual
   * case at load: every follower in step gets the same new entries) is encoded once and the same
   * bytes go to each, instead of a copy of every entry's command per follower. The transport only
   * reads a payload, so sharing one is safe.
   */
  sendAll(outbounds: readonly OutboundMessage[]): void {
    if (outbounds.length === 0) return;
    // Appends of this Ready by their previous index (a pipelined follower gets several batches).
    let encodedAppends: Map<number, EncodedAppend> | undefined;
    for (const outbound of outbounds) {
      const message = outbound.message;
      if (message.kind !== 'append') {
        this.send(outbound);
        continue;
      }
      encodedAppends ??= new Map();
      let encoded = encodedAppends.get(message.prevIndex);
      if (encoded === undefined || !sameAppend(encoded.message, message)) {
        encoded = { message, payload: encodeMessage(message).payload };
        encodedAppends.set(message.prevIndex, encoded);
      }
      this.host.transport.send(outbound.to, MESSAGE_TYPES.append, encoded.payload);
    }
  }

  /**
   * The core asks for entries whose bytes left memory (the payload window), for an append to a
   * lagging follower: read them from storage and hand them back; the core then sends the append.
   */
  loadEntries(load: EntriesToLoad): void {
    const { storage, logger } = this.host;
    storage
      .readEntries(load.from, load.to)
      .then((entries) => {
        if (this.host.stopped()) return;
        const fields = { to: load.peer, from: load.from };
        // No longer in the log: the core drops the append, as a lossy network would; the leader
        // retries or moves the follower on to the snapshot.
        if (entries === undefined) logger.debug(fields, 'append dropped: not in the log');
        else logger.debug(fields, 'append refilled from the log');
        this.host.entriesLoaded(load, entries);
      })
      .catch((error: unknown) => this.host.fail(error));
  }

  /**
   * Reads a chunk of the durable snapshot and sends it. A request for a snapshot storage no
   * longer holds is dropped; the core moves the follower on to the newer snapshot.
   */
  sendSnapshotChunk(chunk: SnapshotChunkToSend): void {
    const { to, snapshotIndex, offset, length, ...fields } = chunk;
    this.host.storage
      .readSnapshotRange(snapshotIndex, offset, length)
      .then((data) => {
        if (this.host.stopped() || data === undefined) return;
        const message = { kind: 'snapshot-chunk', snapshotIndex, offset, data, ...fields } as const;
        this.send({ to, message });
      })
      .catch((error: unknown) => this.host.fail(error));
  }
}
