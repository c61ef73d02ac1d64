import { RequestAbandonedError, RequestWaitingList } from '@x/high-water-mark';
import { IndeterminateOutcomeError, ProposalDroppedError } from './errors.js';
import type { LogEntry } from './log-entry.js';
import type { Clock, Timers } from './node-ports.js';

const TIMED_OUT = 'timed out';

/** When a proposal times out. Proposals are added in time order, so these are too. */
interface ProposalDeadline {
  readonly at: number;
  readonly index: number;
  readonly generation: number;
  settled: boolean;
}

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
 *
 * Timeouts cost no timer per proposal: deadlines are kept in the order proposals arrive (the
 * timeout is the same for all), and one timer, armed for the oldest unsettled one, rejects every
 * proposal past its deadline at once.
 */
export class ProposalWaiters {
  private readonly byGeneration = new Map<number, RequestWaitingList<AppliedOutcome>>();
  private deadlines: ProposalDeadline[] = [];
  /** Position of the oldest deadline still kept in `deadlines`. */
  private firstDeadline = 0;
  private timer: unknown;
  private timerArmed = false;

  constructor(
    private readonly clock: Clock,
    private readonly timers: Timers,
    private readonly timeoutMs: number,
    /** Called for each proposal that timed out (its outcome is unknown). */
    private readonly onTimedOut: (index: number) => void,
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
  add(index: number, generation: number): Promise<unknown> {
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
    const deadline = { at: this.clock.now() + this.timeoutMs, index, generation, settled: false };
    this.deadlines.push(deadline);
    this.armTimer();
    return list.add(index).then(
      (outcome) => {
        deadline.settled = true;
        if (outcome.generation === generation) return outcome.result;
        throw new ProposalDroppedError(`slot ${index} went to another leader`);
      },
      (error: unknown) => {
        deadline.settled = true;
        if (error instanceof RequestAbandonedError && error.reason === TIMED_OUT) {
          this.onTimedOut(index);
          throw new IndeterminateOutcomeError(`proposal at ${index} timed out`);
        }
        throw proposalError(error);
      },
    );
  }

  /** Arms the one timer for the oldest unsettled deadline, if it is not armed. */
  private armTimer(): void {
    if (this.timerArmed) return;
    const deadlines = this.deadlines;
    while (this.firstDeadline < deadlines.length && deadlines[this.firstDeadline]!.settled) {
      this.firstDeadline++;
    }
    if (this.firstDeadline > 1024 && this.firstDeadline * 2 > deadlines.length) {
      this.deadlines = deadlines.slice(this.firstDeadline);
      this.firstDeadline = 0;
    }
    const oldest = this.deadlines[this.firstDeadline];
    if (oldest === undefined) {
      this.deadlines = [];
      this.firstDeadline = 0;
      return;
    }
    this.timerArmed = true;
    const delay = Math.max(0, oldest.at - this.clock.now());
    this.timer = this.timers.setTimeout(() => this.expire(), delay);
  }

  /** Rejects every unsettled proposal past its deadline (outcome unknown), then re-arms. */
  private expire(): void {
    this.timerArmed = false;
    const now = this.clock.now();
    const expiredThrough = new Map<number, number>();
    const deadlines = this.deadlines;
    while (this.firstDeadline < deadlines.length && deadlines[this.firstDeadline]!.at <= now) {
      const deadline = deadlines[this.firstDeadline++]!;
      if (deadline.settled) continue;
      const through = expiredThrough.get(deadline.generation) ?? 0;
      expiredThrough.set(deadline.generation, Math.max(through, deadline.index));
    }
    // Within a generation indexes grow with time: every wait through the index is expired.
    for (const [generation, index] of expiredThrough) {
      this.byGeneration.get(generation)?.rejectThrough(index, 'unknown', TIMED_OUT);
    }
    this.armTimer();
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
    if (this.timerArmed) this.timers.clearTimeout(this.timer);
    this.timerArmed = false;
    this.deadlines = [];
    this.firstDeadline = 0;
  }

  private forgetEmptyLists(current: number): void {
    for (const [generation, list] of this.byGeneration) {
      if (generation !== current && list.size === 0) this.byGeneration.delete(generation);
    }
  }
}

function proposalError(error: unknown): unknown {
  if (!(error instanceof RequestAbandonedError)) return error;
  if (error.outcome === 'not-applied') return new ProposalDroppedError(error.reason);
  return new IndeterminateOutcomeError(error.reason);
}
