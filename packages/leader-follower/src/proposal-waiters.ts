import { RequestAbandonedError, RequestWaitingList } from '@x/high-water-mark';
import { IndeterminateOutcomeError, ProposalDroppedError } from './errors.js';
import type { LogEntry } from './log-entry.js';
import type { Clock, Timers } from './node-ports.js';
import { ProposalDeadlines } from './proposal-deadlines.js';

const TIMED_OUT = 'timed out';

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
 *
 * A proposal costs one wait in its list and one shared rejection handler: a list is only ever
 * advanced by entries of its own generation (see {@link applied}), so a wait resolves with the
 * state machine's result as it is, and nothing per proposal runs when it is answered.
 */
export class ProposalWaiters {
  private readonly byGeneration = new Map<number, RequestWaitingList<unknown>>();
  /**
   * One per proposal, oldest first. Whether its proposal still waits is its list's to say
   * (`waitingAt`), so answering a proposal touches nothing here.
   */
  private readonly deadlines = new ProposalDeadlines();
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
      list = new RequestWaitingList<unknown>(index - 1);
      this.byGeneration.set(generation, list);
    }
    this.deadlines.push(this.clock.now() + this.timeoutMs, index, generation);
    const answer = list.add(index).catch(rejectProposal);
    this.armTimer();
    return answer;
  }

  /** Whether the proposal of the oldest deadline still waits (not applied, rejected or timed out). */
  private oldestWaiting(): boolean {
    const { oldestGeneration, oldestIndex } = this.deadlines;
    return (this.byGeneration.get(oldestGeneration)?.waitingAt(oldestIndex) ?? 0) > 0;
  }

  /** Arms the one timer for the oldest unsettled deadline, if it is not armed. */
  private armTimer(): void {
    if (this.timerArmed) return;
    const deadlines = this.deadlines;
    while (!deadlines.empty && !this.oldestWaiting()) deadlines.dropOldest();
    if (deadlines.empty) return;
    this.timerArmed = true;
    const delay = Math.max(0, deadlines.oldestAt - this.clock.now());
    this.timer = this.timers.setTimeout(() => this.expire(), delay);
  }

  /** Rejects every unsettled proposal past its deadline (outcome unknown), then re-arms. */
  private expire(): void {
    this.timerArmed = false;
    const now = this.clock.now();
    const expiredThrough = new Map<number, number>();
    const deadlines = this.deadlines;
    while (!deadlines.empty && deadlines.oldestAt <= now) {
      const { oldestIndex: index, oldestGeneration: generation } = deadlines;
      if (this.oldestWaiting()) {
        this.onTimedOut(index);
        expiredThrough.set(generation, Math.max(expiredThrough.get(generation) ?? 0, index));
      }
      deadlines.dropOldest();
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

  /**
   * The entry was applied with `result`: answers the proposals at its index. Only the list of the
   * entry's own generation is advanced, so what it resolves with is this entry's result; the
   * proposals of earlier generations from this index on lost their slots (log matching).
   */
  applied(entry: LogEntry, result: unknown): void {
    if (this.byGeneration.size === 0) return;
    for (const [generation, list] of this.byGeneration) {
      if (generation === entry.generation) list.advanceTo(entry.index, () => result);
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
    this.deadlines.clear();
  }

  private forgetEmptyLists(current: number): void {
    for (const [generation, list] of this.byGeneration) {
      if (generation !== current && list.size === 0) this.byGeneration.delete(generation);
    }
  }
}

/** Turns a wait's rejection into the proposal's error (one handler shared by all proposals). */
function rejectProposal(error: unknown): never {
  if (!(error instanceof RequestAbandonedError)) throw error;
  if (error.reason === TIMED_OUT) {
    throw new IndeterminateOutcomeError(`proposal at ${error.index} timed out`);
  }
  if (error.outcome === 'not-applied') throw new ProposalDroppedError(error.reason);
  throw new IndeterminateOutcomeError(error.reason);
}
