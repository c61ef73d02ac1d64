/**
 * How the leader is replicating to one follower:
 * - `probe`: the match point is unknown; one append at a time until the follower accepts one;
 * - `replicate`: the match point is known; appends are pipelined up to the in-flight window;
 * - `snapshot`: the follower is behind the low-water mark and is receiving a snapshot.
 */
export type ReplicationState = 'probe' | 'replicate' | 'snapshot';

/** The leader's view of one follower. Owned and mutated only by the core. */
export class FollowerProgress {
  /** Highest index known to be stored on the follower. */
  matchIndex = 0;
  /** Next index to send. */
  nextIndex: number;
  state: ReplicationState = 'probe';
  /** In `probe`: an append is outstanding; wait for its answer (or a heartbeat answer). */
  probeSent = false;
  /** Ticks since the follower last answered (for operators). */
  ticksSinceResponse = 0;
  /**
   * Set when the follower rejected an append at or below `matchIndex`: it lost entries it had
   * acknowledged, so it is not counted for quorum for the rest of this leadership.
   */
  lostAcknowledgedEntries = false;
  /** In `snapshot`: which snapshot, and the next byte the follower wants. */
  snapshotIndex = 0;
  snapshotOffset = 0;
  ticksSinceSnapshotProgress = 0;
  /**
   * The highest high-water mark a message of this leadership told the follower it may commit
   * through: a heartbeat's, or an append's as far as its entries reach. A rise of the mark that a
   * message already carried needs no heartbeat of its own. Advisory only: a lost message leaves
   * the follower to learn the mark from the next append or the tick's heartbeat.
   */
  highWaterMarkSent = 0;

  /** Last index of each append in flight, oldest first (a bounded window). */
  private readonly inflight: number[] = [];
  private inflightHead = 0;

  constructor(
    nextIndex: number,
    private readonly maxInflight: number,
  ) {
    this.nextIndex = nextIndex;
  }

  /** Number of appends in flight. */
  get inflightCount(): number {
    return this.inflight.length - this.inflightHead;
  }

  /** True when nothing more may be sent until the follower answers. */
  get paused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflightCount >= this.maxInflight;
      case 'snapshot':
        return true;
    }
  }

  /** Records an append ending at `lastIndex` as sent. */
  sentAppend(lastIndex: number, entryCount: number): void {
    if (this.state === 'replicate') {
      if (entryCount > 0) {
        this.nextIndex = lastIndex + 1;
        this.inflight.push(lastIndex);
      }
    } else if (this.state === 'probe') {
      this.probeSent = true;
    }
  }

  /** The follower stores everything through `index`; returns false for a stale answer. */
  acknowledge(index: number): boolean {
    this.freeInflightThrough(index);
    if (index <= this.matchIndex) return false;
    this.matchIndex = index;
    if (this.nextIndex <= index) this.nextIndex = index + 1;
    this.probeSent = false;
    return true;
  }

  /**
   * The follower rejected an append after `rejectedIndex`; `nextProbe` is the leader's best guess
   * of the match point from the follower's hint. Returns false when the rejection is stale.
   */
  backOff(rejectedIndex: number, nextProbe: number): boolean {
    if (this.state === 'replicate') {
      if (rejectedIndex <= this.matchIndex) return false;
      this.becomeProbe();
      return true;
    }
    if (this.nextIndex - 1 !== rejectedIndex) return false;
    this.nextIndex = Math.max(Math.min(rejectedIndex, nextProbe + 1), this.matchIndex + 1);
    this.probeSent = false;
    return true;
  }

  /**
   * The follower lost what it acknowledged: forget its match point and probe from `nextIndex` (the
   * back-off would otherwise never go below the old match point, and it would never catch up).
   */
  forgetMatch(nextIndex: number): void {
    this.lostAcknowledgedEntries = true;
    this.matchIndex = 0;
    this.becomeProbe();
    this.nextIndex = Math.max(1, nextIndex);
  }

  becomeProbe(): void {
    this.state = 'probe';
    this.nextIndex = this.matchIndex + 1;
    this.probeSent = false;
    this.clearInflight();
  }

  becomeReplicate(): void {
    this.state = 'replicate';
    this.nextIndex = this.matchIndex + 1;
    this.clearInflight();
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.state = 'snapshot';
    this.snapshotIndex = snapshotIndex;
    this.snapshotOffset = 0;
    this.ticksSinceSnapshotProgress = 0;
    this.clearInflight();
  }

  /** Frees the oldest in-flight slot: lets a stalled pipeline move when answers were lost. */
  freeOldestInflight(): void {
    if (this.inflightCount > 0) this.inflightHead++;
    this.compactInflight();
  }

  private freeInflightThrough(index: number): void {
    while (this.inflightHead < this.inflight.length) {
      const last = this.inflight[this.inflightHead];
      if (last === undefined || last > index) break;
      this.inflightHead++;
    }
    this.compactInflight();
  }

  private compactInflight(): void {
    if (this.inflightHead === this.inflight.length) {
      this.inflight.length = 0;
      this.inflightHead = 0;
    } else if (this.inflightHead > 1024) {
      this.inflight.splice(0, this.inflightHead);
      this.inflightHead = 0;
    }
  }

  private clearInflight(): void {
    this.inflight.length = 0;
    this.inflightHead = 0;
  }
}
