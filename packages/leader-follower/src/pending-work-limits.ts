import { TooManyRequestsError } from './errors.js';

/** The bounds of a node's pending work (see `LeaderFollowerNodeOptions` for the defaults). */
export interface PendingWorkLimits {
  readonly maxPendingProposals: number;
  readonly maxUncommittedBytes: number;
  readonly maxPendingReads: number;
  /** Hint handed to refused callers: milliseconds to wait before retrying. */
  readonly retryAfterMs: number;
}

interface UncommittedProposal {
  readonly index: number;
  readonly bytes: number;
}

/**
 * Admission of new work against the node's bounds, as etcd bounds a leader's uncommitted log
 * (MaxUncommittedEntriesSize): a proposal is refused at once, before anything is appended, when
 * too many proposals wait or too many proposed bytes are not yet committed; a read when too many
 * reads wait. One proposal is always admitted when nothing is uncommitted, however large (up to
 * the largest command), so a bound below the largest command cannot wedge the node.
 */
export class PendingWorkAdmission {
  /** This leadership's proposals not yet known committed, in index order. */
  private uncommitted: UncommittedProposal[] = [];
  /** Position of the first entry of `uncommitted` still counted (the ones before are dropped). */
  private uncommittedStart = 0;
  private uncommittedBytesValue = 0;
  private generation = -1;

  constructor(private readonly limits: PendingWorkLimits) {
    for (const [name, value] of Object.entries(limits)) {
      if (!(value >= 0)) throw new RangeError(`${name} must be >= 0, got ${value}`);
    }
  }

  /** Command bytes this leader proposed that are not yet committed. */
  get uncommittedBytes(): number {
    return this.uncommittedBytesValue;
  }

  /** The error to refuse a proposal of `bytes` with, or undefined to admit it. */
  refuseProposal(pendingProposals: number, bytes: number): TooManyRequestsError | undefined {
    const { maxPendingProposals, maxUncommittedBytes, retryAfterMs } = this.limits;
    if (pendingProposals >= maxPendingProposals) {
      return new TooManyRequestsError('pending-proposals', maxPendingProposals, retryAfterMs);
    }
    const uncommitted = this.uncommittedBytesValue;
    if (uncommitted > 0 && uncommitted + bytes > maxUncommittedBytes) {
      return new TooManyRequestsError('uncommitted-bytes', maxUncommittedBytes, retryAfterMs);
    }
    return undefined;
  }

  /** The error to refuse a linearizable read with, or undefined to admit it. */
  refuseRead(pendingReads: number): TooManyRequestsError | undefined {
    const { maxPendingReads, retryAfterMs } = this.limits;
    if (pendingReads < maxPendingReads) return undefined;
    return new TooManyRequestsError('pending-reads', maxPendingReads, retryAfterMs);
  }

  /** A proposal was appended at `index` in `generation`. */
  proposed(index: number, generation: number, bytes: number): void {
    if (generation !== this.generation) {
      // A new leadership starts counting afresh (as etcd does on becoming leader): what an
      // earlier one proposed is committed or overwritten by now, or its fate is another leader's.
      this.generation = generation;
      this.uncommitted = [];
      this.uncommittedStart = 0;
      this.uncommittedBytesValue = 0;
    }
    this.uncommitted.push({ index, bytes });
    this.uncommittedBytesValue += bytes;
  }

  /** The high-water mark reached `index`: proposals through it no longer count. */
  committedThrough(index: number): void {
    const queue = this.uncommitted;
    let start = this.uncommittedStart;
    while (start < queue.length && queue[start]!.index <= index) {
      this.uncommittedBytesValue -= queue[start]!.bytes;
      start++;
    }
    if (start === queue.length) {
      this.uncommitted = [];
      start = 0;
    } else if (start > 1024 && start * 2 > queue.length) {
      this.uncommitted = queue.slice(start);
      start = 0;
    }
    this.uncommittedStart = start;
  }
}
