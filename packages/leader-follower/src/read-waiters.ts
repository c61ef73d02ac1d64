import { RequestWaitingList } from '@x/high-water-mark';
import { NoQuorumError, NodeStoppedError, NotLeaderError } from './errors.js';
import type { ReadPermit, ReadRefusal } from './core-types.js';
import type { Timers } from './node-ports.js';

interface ReadAwaitingConfirmation {
  readonly resolve: (index: number) => void;
  readonly reject: (error: Error) => void;
  readonly timeout: AbortController;
  readonly timer: unknown;
}

/**
 * Linearizable reads on their way to being served (DESIGN.md §5 rule 7): first each waits for
 * the core to confirm leadership (by request id), then, permitted at a high-water mark, for the
 * state machine to apply that far, in a `RequestWaitingList` (@x/high-water-mark) keyed by the
 * index. One timeout covers both stages: a read not served in time fails with
 * {@link NoQuorumError} (definite: a read changes nothing).
 */
export class ReadWaiters {
  private readonly awaitingConfirmation = new Map<number, ReadAwaitingConfirmation>();
  private readonly awaitingApply: RequestWaitingList<number>;
  private nextRequestId = 1;

  constructor(
    private readonly timers: Timers,
    private readonly timeoutMs: number,
    appliedIndex: number,
  ) {
    this.awaitingApply = new RequestWaitingList<number>(appliedIndex);
  }

  /** Reads waiting for confirmation or for the state machine. */
  get size(): number {
    return this.awaitingConfirmation.size + this.awaitingApply.size;
  }

  /** Registers a read; returns its request id (for the core) and the promise of its index. */
  add(): { requestId: number; served: Promise<number> } {
    const requestId = this.nextRequestId++;
    const served = new Promise<number>((resolve, reject) => {
      const timeout = new AbortController();
      const timer = this.timers.setTimeout(() => {
        timeout.abort();
        if (this.awaitingConfirmation.delete(requestId)) {
          reject(new NoQuorumError('leadership not confirmed in time'));
        }
      }, this.timeoutMs);
      this.awaitingConfirmation.set(requestId, { resolve, reject, timeout, timer });
    });
    return { requestId, served };
  }

  /** The core confirmed reads: each waits until the state machine reaches its index. */
  permitted(permits: readonly ReadPermit[], appliedIndex: number): void {
    for (const permit of permits) {
      const read = this.awaitingConfirmation.get(permit.requestId);
      if (read === undefined) continue;
      this.awaitingConfirmation.delete(permit.requestId);
      if (permit.index <= Math.max(appliedIndex, this.awaitingApply.reachedIndex)) {
        this.timers.clearTimeout(read.timer);
        read.resolve(permit.index);
        continue;
      }
      this.awaitingApply.add(permit.index, read.timeout.signal).then(
        (index) => {
          this.timers.clearTimeout(read.timer);
          read.resolve(index);
        },
        () => {
          // Aborted by the timeout, or rejected because the node stopped.
          this.timers.clearTimeout(read.timer);
          read.reject(
            read.timeout.signal.aborted
              ? new NoQuorumError('leadership not confirmed in time')
              : new NodeStoppedError('node stopped'),
          );
        },
      );
    }
  }

  /** The core refused reads (this node is not, or no longer, the leader). */
  refused(refusals: readonly ReadRefusal[]): void {
    for (const refusal of refusals) {
      const read = this.awaitingConfirmation.get(refusal.requestId);
      if (read === undefined) continue;
      this.awaitingConfirmation.delete(refusal.requestId);
      this.timers.clearTimeout(read.timer);
      read.reject(new NotLeaderError(refusal.leaderId));
    }
  }

  /** The state machine stands at `appliedIndex`: serves the reads permitted at or below it. */
  applied(appliedIndex: number): void {
    this.awaitingApply.advanceTo(appliedIndex, (index) => index);
  }

  /** The node stopped: every read fails (definite: a read changes nothing). */
  rejectAll(): void {
    for (const read of this.awaitingConfirmation.values()) {
      this.timers.clearTimeout(read.timer);
      read.reject(new NodeStoppedError('node stopped'));
    }
    this.awaitingConfirmation.clear();
    this.awaitingApply.rejectAll('not-applied', 'node stopped');
  }
}
