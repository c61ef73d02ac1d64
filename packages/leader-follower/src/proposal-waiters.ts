import { RequestAbandonedError, RequestWaitingList } from '@x/high-water-mark';
import { IndeterminateOutcomeError, ProposalDroppedError } from './errors.js';
import type { LogEntry } from './log-entry.js';
import type { Timers } from './node-ports.js';

/** What the state machine made of an applied entry, for the proposer waiting on its index. */
interface AppliedOutcome {
  readonly generation: number;
  readonly result: unknown;
}

/**
 * Proposers waiting for their entry to be applied: one `RequestWaitingList` (@x/high-water-mark)
 * per generation they proposed in, keyed by the entry's index. The generation tells a proposal's
 * own entry from another leader's entry that took its slot: by log matching, once an entry of a
 * later generation is applied at an index, no entry of an earlier generation at or after that
 * index can ever be applied, so those proposals fail definitely ({@link ProposalDroppedError}).
 */
export class ProposalWaiters {
  private readonly byGeneration = new Map<number, RequestWaitingList<AppliedOutcome>>();

  constructor(
    private readonly timers: Timers,
    private readonly timeoutMs: number,
  ) {}

  /** Proposals waiting (to be applied, rejected or timed out). */
  get size(): number {
    let size = 0;
    for (const list of this.byGeneration.values()) size += list.size;
    return size;
  }

  /**
   * Waits for the entry proposed at `index` in `generation` to be applied; resolves with the
   * state machine's result. Rejects with {@link IndeterminateOutcomeError} after the timeout or
   * when the proposal is abandoned with an unknown outcome, {@link ProposalDroppedError} when
   * another leader's entry took its slot. `onTimeout` is called when it times out.
   */
  add(index: number, generation: number, onTimeout: () => void): Promise<unknown> {
    // Our earlier entries from here on were truncated here, but another server may still hold
    // them and a later leader could still commit them: their outcome is unknown.
    for (const [earlier, list] of this.byGeneration) {
      if (earlier < generation) list.rejectFrom(index, 'unknown', `entry at ${index} was replaced`);
    }
    this.forgetEmptyLists(generation);
    let list = this.byGeneration.get(generation);
    if (list === undefined) {
      list = new RequestWaitingList<AppliedOutcome>(index - 1);
      this.byGeneration.set(generation, list);
    }
    const timeout = new AbortController();
    const timer = this.timers.setTimeout(() => {
      onTimeout();
      timeout.abort();
    }, this.timeoutMs);
    return list.add(index, timeout.signal).then(
      (outcome) => {
        this.timers.clearTimeout(timer);
        if (outcome.generation === generation) return outcome.result;
        throw new ProposalDroppedError(`slot ${index} went to another leader`);
      },
      (error: unknown) => {
        this.timers.clearTimeout(timer);
        throw proposalError(error, timeout.signal.aborted);
      },
    );
  }

  /** Whether a proposer waits for this very entry (the state machine may skip its result). */
  awaits(entry: LogEntry): boolean {
    return (this.byGeneration.get(entry.generation)?.waitingAt(entry.index) ?? 0) > 0;
  }

  /** The entry was applied with `result`: answers the proposals at its index. */
  applied(entry: LogEntry, result: unknown): void {
    if (this.byGeneration.size === 0) return;
    const outcome = { generation: entry.generation, result };
    for (const [generation, list] of this.byGeneration) {
      if (generation === entry.generation) list.advanceTo(entry.index, () => outcome);
      else if (generation < entry.generation && list.size > 0) {
        list.rejectFrom(entry.index, 'not-applied', `slot ${entry.index} went to another leader`);
      }
    }
  }

  /** The state jumped to a snapshot through `index`: whether the entries there were ours is unknown. */
  coveredBySnapshot(index: number): void {
    for (const list of this.byGeneration.values()) {
      list.rejectThrough(index, 'unknown', `outcome at ${index} covered by a snapshot`);
    }
  }

  /** The node stopped: every proposal may or may not be applied. */
  rejectAll(reason: string): void {
    for (const list of this.byGeneration.values()) list.rejectAll('unknown', reason);
    this.byGeneration.clear();
  }

  private forgetEmptyLists(current: number): void {
    for (const [generation, list] of this.byGeneration) {
      if (generation !== current && list.size === 0) this.byGeneration.delete(generation);
    }
  }
}

function proposalError(error: unknown, timedOut: boolean): unknown {
  if (!(error instanceof RequestAbandonedError)) return error;
  if (timedOut) return new IndeterminateOutcomeError(`proposal at ${error.index} timed out`);
  if (error.outcome === 'not-applied') return new ProposalDroppedError(error.reason);
  return new IndeterminateOutcomeError(error.reason);
}
