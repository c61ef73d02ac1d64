// Rules both node storages keep, so that a test on MemoryNodeStorage says something about
// FileNodeStorage.
import type { Random } from './core-types.js';
import type { HardState, LogEntry, SnapshotMetadata } from './log-entry.js';
import type { MemberState } from './member-state.js';
import type { MemberStateChange } from './node-storage.js';

/** The logger subset a storage uses (a pino-compatible logger satisfies it). */
export interface StorageLogger {
  info(fields: Record<string, unknown>, message: string): void;
}

/**
 * The generation and vote to start from. A generation below the log's newest entry (a log seeded
 * by hand, or state from before the generation was recorded) would let a new leader append
 * entries of an older generation: it is raised to that entry's, with no vote.
 */
export function hardStateAfterRecovery(
  saved: { generation: number; votedFor?: string | undefined } | undefined,
  snapshot: SnapshotMetadata | undefined,
  entries: readonly LogEntry[],
): HardState {
  const lastGeneration = Math.max(snapshot?.generation ?? 0, entries.at(-1)?.generation ?? 0);
  return (saved?.generation ?? 0) >= lastGeneration
    ? { generation: saved?.generation ?? 0, votedFor: saved?.votedFor }
    : { generation: lastGeneration, votedFor: undefined };
}

/** A storage identity: 128 random bits as 32 hex digits, from the node's random port. */
export function newStorageId(random: Random): string {
  let id = '';
  for (let word = 0; word < 4; word++) {
    id += Math.floor(random.next() * 0x1_0000_0000)
      .toString(16)
      .padStart(8, '0');
  }
  return id;
}

/** Two member-state changes as one (the later wins; the acknowledged index only grows). */
export function mergeChanges(
  earlier: MemberStateChange,
  later: MemberStateChange,
): MemberStateChange {
  const learned = new Map(earlier.peerStorageIdsLearned ?? []);
  for (const [member, storageId] of later.peerStorageIdsLearned ?? []) {
    learned.set(member, storageId);
  }
  const acknowledgedIndex = Math.max(earlier.acknowledgedIndex ?? 0, later.acknowledgedIndex ?? 0);
  const lostReportedBy = later.lostReportedBy ?? earlier.lostReportedBy;
  return {
    acknowledgedIndex,
    ...(learned.size === 0 ? {} : { peerStorageIdsLearned: learned }),
    ...(lostReportedBy === undefined ? {} : { lostReportedBy }),
  };
}

/**
 * The member state to record after `change`. The acknowledged index never moves back, and never
 * beyond `durableThrough` (what the storage holds durably): the core counts an installed
 * snapshot as durable before its file is in place, and a record beyond the log would make the
 * next start refuse this member as forgetful.
 */
export function recordableMemberState(
  current: MemberState,
  change: MemberStateChange,
  durableThrough: number,
): MemberState {
  const acknowledgedIndex = Math.max(
    current.acknowledgedIndex,
    Math.min(change.acknowledgedIndex ?? 0, durableThrough),
  );
  let peerStorageIds = current.peerStorageIds;
  if (change.peerStorageIdsLearned !== undefined && change.peerStorageIdsLearned.size > 0) {
    const merged = new Map(peerStorageIds);
    for (const [member, storageId] of change.peerStorageIdsLearned) merged.set(member, storageId);
    peerStorageIds = merged;
  }
  const lostReportedBy = change.lostReportedBy ?? current.lostReportedBy;
  return {
    storageId: current.storageId,
    acknowledgedIndex,
    peerStorageIds,
    ...(lostReportedBy === undefined ? {} : { lostReportedBy }),
  };
}

/** One `persist` call waiting for its turn to settle (see {@link PersistOrder}). */
interface PendingPersist {
  /** Its steps settled. */
  done: boolean;
  /** Set when a step failed: the call rejects with it. */
  failure: { readonly error: unknown } | undefined;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** Drop settled calls from the front once this many have piled up (and they are most). */
const COMPACT_AFTER = 1024;

/**
 * Makes `persist` promises settle in the order of the calls, whatever lane finished first (rule 5
 * of the storage job queue).
 *
 * The calls wait in a FIFO rather than a chain of promises: a call whose steps are done settles
 * with one reaction on them, not a promise hop per link (this runs once per Ready on the commit
 * path). Several calls may then settle in the same turn, in call order: reactions attached
 * directly to their promises run in call order, but a caller that adds hops to one of them must
 * keep its own order (the node does, in `ReadyCompletions`).
 */
export class PersistOrder {
  private readonly pending: PendingPersist[] = [];
  /** Position of the oldest call not settled yet. */
  private head = 0;

  /** A promise that settles once `steps` did and every earlier call settled. */
  settleInOrder(steps: readonly Promise<unknown>[]): Promise<void> {
    let resolve!: () => void;
    let reject!: (error: unknown) => void;
    const settled = new Promise<void>((resolveSettled, rejectSettled) => {
      resolve = resolveSettled;
      reject = rejectSettled;
    });
    const call: PendingPersist = { done: false, failure: undefined, resolve, reject };
    this.pending.push(call);
    if (steps.length === 0) {
      call.done = true;
      this.release();
      return settled;
    }
    const all = steps.length === 1 ? steps[0]! : Promise.all(steps);
    all.then(
      () => {
        call.done = true;
        this.release();
      },
      (error: unknown) => {
        call.done = true;
        call.failure = { error };
        this.release();
      },
    );
    return settled;
  }

  /** Settles the calls at the head whose steps are done, in call order. */
  private release(): void {
    const pending = this.pending;
    while (this.head < pending.length) {
      const next = pending[this.head]!;
      if (!next.done) break;
      this.head++;
      if (next.failure === undefined) next.resolve();
      else next.reject(next.failure.error);
    }
    if (this.head === pending.length) {
      pending.length = 0;
      this.head = 0;
    } else if (this.head > COMPACT_AFTER && this.head * 2 > pending.length) {
      pending.splice(0, this.head);
      this.head = 0;
    }
  }
}
