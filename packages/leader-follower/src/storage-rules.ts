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

/**
 * Makes `persist` promises settle in the order of the calls, whatever lane finished first, so a
 * node acts on each Ready's durability in Ready order (rule 5 of the storage job queue).
 */
export class PersistOrder {
  private previous: Promise<void> = Promise.resolve();

  /** A promise that settles once `steps` did and every earlier one settled. */
  settleInOrder(steps: readonly Promise<unknown>[]): Promise<void> {
    const mine = Promise.all(steps);
    const settled = this.previous.then(
      () => mine.then(() => undefined),
      () => mine.then(() => undefined),
    );
    this.previous = settled.catch(() => undefined);
    return settled;
  }
}
