import type { Role } from '@x/leader-follower';

/** What kind of transition a line of narration explains (the page styles and filters by it). */
export type NarrationKind =
  'election' | 'leader' | 'step-down' | 'commit' | 'stale' | 'snapshot' | 'fault' | 'client';

/** One explained transition, in the pattern's words. */
export interface Narration {
  /** Virtual time in milliseconds. */
  readonly atMs: number;
  readonly kind: NarrationKind;
  readonly text: string;
  /** The member the transition happened to, if it is about one. */
  readonly member: string | undefined;
}

/** The part of a member's state whose changes the narrator explains. */
export interface MemberFacts {
  readonly name: string;
  /** Undefined while the member has no running instance (crashed or starting). */
  readonly role: Role | undefined;
  readonly generation: number;
  readonly highWaterMark: number;
  readonly lastHeartbeatAgeMs: number;
}

/** A majority of `members`: the smallest group any two of which overlap. */
export function quorumOf(members: number): number {
  return Math.floor(members / 2) + 1;
}

/**
 * Explains how one member changed between two observations (empty when nothing worth telling
 * changed). `members` is the cluster size.
 */
export function explainChange(
  before: MemberFacts,
  after: MemberFacts,
  members: number,
): { kind: NarrationKind; text: string }[] {
  const lines: { kind: NarrationKind; text: string }[] = [];
  const name = after.name;
  const quorum = `${quorumOf(members)} of ${members}`;
  if (before.role !== undefined && after.role !== undefined && before.role !== after.role) {
    if (after.role === 'pre-candidate' && after.generation === 0) {
      lines.push({
        kind: 'election',
        text: `Election started: ${name} has heard of no leader since it started (generation 0), so it asks whether it could win generation 1 (pre-vote) before campaigning.`,
      });
    } else if (after.role === 'pre-candidate') {
      lines.push({
        kind: 'election',
        text: `Election started: ${name} missed heartbeats for ${Math.round(after.lastHeartbeatAgeMs)} ms, longer than its election timeout. It first asks whether it could win generation ${after.generation + 1} (pre-vote), so a member that was merely cut off cannot disturb a healthy leader.`,
      });
    } else if (after.role === 'candidate') {
      lines.push({
        kind: 'election',
        text: `${name} is a candidate in generation ${after.generation}: it voted for itself, stored the vote on disk, and asks the others for theirs. It needs ${quorum}.`,
      });
    } else if (after.role === 'leader') {
      lines.push({
        kind: 'leader',
        text: `${name} leads generation ${after.generation}: a quorum (${quorum}) voted for it, and each voter's log was no more up to date than its own. It appends an empty entry of generation ${after.generation} so that earlier entries can be committed.`,
      });
    } else if (before.role === 'leader') {
      lines.push(
        after.generation > before.generation
          ? {
              kind: 'step-down',
              text: `Stale leader stepped down: ${name} learned of generation ${after.generation}, newer than its ${before.generation}; it becomes a follower and its uncommitted entries may be replaced.`,
            }
          : {
              kind: 'step-down',
              text: `${name} stepped down: it heard from no quorum (${quorum}) within an election timeout (check-quorum), so it stops acting as leader.`,
            },
      );
    } else if (after.generation > before.generation) {
      lines.push({
        kind: 'election',
        text: `${name} became a follower of generation ${after.generation}: it saw a newer generation than its ${before.generation}.`,
      });
    }
  }
  if (
    after.role === 'leader' &&
    before.role === 'leader' &&
    after.generation === before.generation &&
    after.highWaterMark > before.highWaterMark
  ) {
    const range =
      after.highWaterMark === before.highWaterMark + 1
        ? `Entry ${after.highWaterMark}`
        : `Entries ${before.highWaterMark + 1}-${after.highWaterMark}`;
    lines.push({
      kind: 'commit',
      text: `${range} committed: a quorum (${quorum}) stores ${after.highWaterMark === before.highWaterMark + 1 ? 'it' : 'them'}, so ${name}'s high-water mark moves to ${after.highWaterMark}; every member may now apply up to there.`,
    });
  }
  return lines;
}

/** The text for a message rejected because its sender's generation is older than the receiver's. */
export function explainStaleMessage(
  from: string,
  to: string,
  kind: string,
  senderGeneration: number,
  receiverGeneration: number,
): string {
  return `Stale leader rejected: ${to} refused ${from}'s ${kind} of generation ${senderGeneration}, older than its own ${receiverGeneration}. The answer carries generation ${receiverGeneration}, so a stale leader learns it is stale and steps down.`;
}
