import type { CoreContext } from './core-context.js';
import type { SnapshotMetadata } from './log-entry.js';
import type { AppendRequest, Heartbeat, NodeId, SnapshotChunk } from './messages.js';
import { assertInvariant } from './invariant-violation.js';

/** A snapshot a follower is receiving; its bytes go to the driver's storage as they arrive. */
interface IncomingSnapshot {
  readonly leaderGeneration: number;
  readonly index: number;
  readonly generation: number;
  readonly totalBytes: number;
  received: number;
}

/**
 * The follower side of replication: appends (with the prefix check and truncation of a divergent
 * suffix, rule 4), heartbeats (the leader's high-water mark), and a leader's snapshot arriving in
 * chunks.
 */
export class FollowerReplication {
  private incomingSnapshot: IncomingSnapshot | undefined;

  constructor(private readonly core: CoreContext) {}

  handleAppend(from: NodeId, request: AppendRequest): void {
    const core = this.core;
    const replica = core.replica;
    const log = replica.log;
    // Entries at or below the compaction point are committed, hence identical on every server.
    const prefixMatches =
      request.prevIndex <= log.compactedIndex ||
      log.matches(request.prevIndex, request.prevGeneration);
    if (!prefixMatches) {
      const hintIndex = log.lastIndexWithGenerationAtMost(
        Math.min(request.prevIndex, log.lastIndex),
        request.prevGeneration,
      );
      core.send(from, {
        kind: 'append-response',
        generation: core.generation,
        rejected: true,
        index: request.prevIndex,
        hintIndex,
        hintGeneration: log.generationAt(hintIndex) ?? 0,
        ...core.identities.field(),
      });
      return;
    }
    for (const entry of request.entries) {
      if (entry.index <= log.compactedIndex) continue;
      const existing = log.generationAt(entry.index);
      if (existing === entry.generation) continue; // already held: a duplicate or reordered append
      if (existing !== undefined) {
        // Rule 4: truncate only on a real conflict, and never a committed entry.
        this.truncateAfter(
          entry.index - 1,
          () => `conflict at ${entry.index} (generation ${existing} vs ${entry.generation})`,
        );
      }
      log.append(entry);
    }
    const lastNewIndex = request.prevIndex + request.entries.length;
    replica.commitTo(Math.min(request.highWaterMark, lastNewIndex));
    core.send(from, {
      kind: 'append-response',
      generation: core.generation,
      rejected: false,
      index: Math.max(lastNewIndex, log.compactedIndex),
      hintIndex: 0,
      hintGeneration: 0,
      ...core.identities.field(),
    });
  }

  handleHeartbeat(from: NodeId, heartbeat: Heartbeat): void {
    const core = this.core;
    core.identities.learnFrom(heartbeat);
    // The leader caps the mark at what it knows this follower holds.
    core.replica.commitTo(Math.min(heartbeat.highWaterMark, core.replica.log.lastIndex));
    core.send(from, {
      kind: 'heartbeat-response',
      generation: core.generation,
      readRound: heartbeat.readRound,
      ...core.identities.field(),
    });
  }

  handleSnapshotChunk(from: NodeId, chunk: SnapshotChunk): void {
    let incoming = this.incomingSnapshot;
    const sameSnapshot =
      incoming !== undefined &&
      incoming.leaderGeneration === chunk.generation &&
      incoming.index === chunk.snapshotIndex &&
      incoming.generation === chunk.snapshotGeneration &&
      incoming.totalBytes === chunk.totalBytes;
    if (!sameSnapshot) {
      incoming = undefined;
      this.incomingSnapshot = undefined;
      if (chunk.offset === 0) {
        incoming = {
          leaderGeneration: chunk.generation,
          index: chunk.snapshotIndex,
          generation: chunk.snapshotGeneration,
          totalBytes: chunk.totalBytes,
          received: 0,
        };
        this.incomingSnapshot = incoming;
      }
    }
    if (incoming === undefined) {
      this.sendSnapshotResponse(from, chunk.snapshotIndex, 0, 0, true);
      return;
    }
    if (
      chunk.offset === incoming.received &&
      chunk.data.length > 0 &&
      chunk.offset + chunk.data.length <= incoming.totalBytes
    ) {
      this.core.outbox.snapshotChunksToStore.push({
        snapshotIndex: incoming.index,
        snapshotGeneration: incoming.generation,
        offset: chunk.offset,
        totalBytes: incoming.totalBytes,
        data: chunk.data,
      });
      incoming.received += chunk.data.length;
    }
    if (incoming.received < incoming.totalBytes) {
      this.sendSnapshotResponse(from, chunk.snapshotIndex, incoming.received, 0, false);
      return;
    }
    this.incomingSnapshot = undefined;
    // The last chunk carries the snapshot's configuration (absent from a leader of an earlier
    // release: the configuration in force is then kept).
    const installedIndex = this.installSnapshot({
      index: incoming.index,
      generation: incoming.generation,
      sizeBytes: incoming.totalBytes,
      ...(chunk.configuration === undefined ? {} : { configuration: chunk.configuration }),
    });
    this.sendSnapshotResponse(from, chunk.snapshotIndex, incoming.received, installedIndex, false);
  }

  /** Installs a leader's snapshot; returns the index the follower now matches through. */
  private installSnapshot(snapshot: SnapshotMetadata): number {
    const replica = this.core.replica;
    const outbox = this.core.outbox;
    if (snapshot.index <= replica.highWaterMark) return replica.highWaterMark;
    if (replica.log.matches(snapshot.index, snapshot.generation)) {
      // We already hold the entries; just learn that they are committed.
      replica.commitTo(snapshot.index);
      return snapshot.index;
    }
    replica.log.resetTo(snapshot.index, snapshot.generation, snapshot.configuration);
    this.core.cover('snapshot-installed');
    replica.latestSnapshot = snapshot;
    outbox.snapshotToInstall = snapshot;
    replica.highWaterMark = snapshot.index;
    outbox.applyCursor = snapshot.index;
    replica.appliedIndex = Math.max(replica.appliedIndex, snapshot.index);
    replica.durableIndex = snapshot.index;
    outbox.handedOutIndex = snapshot.index;
    return snapshot.index;
  }

  private sendSnapshotResponse(
    to: NodeId,
    snapshotIndex: number,
    nextOffset: number,
    installedIndex: number,
    rejected: boolean,
  ): void {
    this.core.send(to, {
      kind: 'snapshot-response',
      generation: this.core.generation,
      snapshotIndex,
      nextOffset,
      installedIndex,
      rejected,
    });
  }

  /**
   * Drops the divergent suffix after `index`.
   * @throws InvariantViolation when that would drop a committed entry or the leader's own entry
   */
  truncateAfter(index: number, reason: () => string): void {
    const replica = this.core.replica;
    assertInvariant(
      index >= replica.highWaterMark,
      'truncation-below-high-water-mark',
      () => `${reason()}: truncating after ${index}, high-water mark ${replica.highWaterMark}`,
    );
    assertInvariant(
      this.core.role !== 'leader',
      'leader-truncated-own-log',
      () => `${reason()}: the leader truncating its own log after ${index}`,
    );
    replica.log.truncateAfter(index);
    this.core.cover('divergent-suffix-truncated');
    this.core.outbox.truncatedAfter(index);
    if (replica.durableIndex > index) replica.durableIndex = index;
  }
}
