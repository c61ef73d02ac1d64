import type { ReadPermit } from './core-types.js';

interface ReadBatch {
  readonly round: number;
  readonly index: number;
  readonly requestIds: number[];
}

/**
 * The leader's read barriers for linearizable reads (DESIGN.md §5 rule 7; Raft's read index).
 * A read waits, in order, for: the leader's first entry of its generation to be committed; a confirmation round (every read queued
 * before a round starts shares it, so concurrent reads cost one heartbeat round); a majority to
 * confirm that round. It is then permitted at the high-water mark recorded when its round began.
 */
export class ReadBarrierQueue {
  /** Number of the latest round started; heartbeats carry it and followers echo it. */
  round = 0;
  private awaitingCommit: number[] = [];
  private awaitingRound: number[] = [];
  private batches: ReadBatch[] = [];

  /** Holds a read until the leader has committed an entry of its own generation. */
  deferUntilCommit(requestId: number): void {
    this.awaitingCommit.push(requestId);
  }

  /** Takes the reads that waited for the leader's first commit (to be queued again). */
  takeDeferred(): number[] {
    const deferred = this.awaitingCommit;
    this.awaitingCommit = [];
    return deferred;
  }

  /** Queues a read for the next confirmation round. */
  queue(requestId: number): void {
    this.awaitingRound.push(requestId);
  }

  /** True when queued reads wait for a round to start. */
  get roundNeeded(): boolean {
    return this.awaitingRound.length > 0;
  }

  /**
   * Starts one round for every queued read, at `highWaterMark` (everything committed before the
   * reads arrived is at or below it). Returns false when nothing was queued.
   */
  startRound(highWaterMark: number): boolean {
    if (this.awaitingRound.length === 0) return false;
    this.round++;
    this.batches.push({ round: this.round, index: highWaterMark, requestIds: this.awaitingRound });
    this.awaitingRound = [];
    return true;
  }

  /** Permits, oldest first, the reads of every round `confirmedByMajority` accepts. */
  confirm(confirmedByMajority: (round: number) => boolean, permits: ReadPermit[]): void {
    while (this.batches.length > 0) {
      const batch = this.batches[0];
      if (batch === undefined || !confirmedByMajority(batch.round)) break;
      this.batches.shift();
      for (const requestId of batch.requestIds) permits.push({ requestId, index: batch.index });
    }
  }

  /** Leadership is lost: returns every read still pending and forgets them. */
  drain(): number[] {
    const pending = [...this.awaitingCommit, ...this.awaitingRound];
    for (const batch of this.batches) pending.push(...batch.requestIds);
    this.awaitingCommit = [];
    this.awaitingRound = [];
    this.batches = [];
    return pending;
  }
}
